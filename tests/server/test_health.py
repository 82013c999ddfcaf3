"""GET /health reports whether the database and Redis are reachable."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.processes import SECRETS, OwnRedis, serve


async def test_health_reports_database_and_redis(http: httpx.AsyncClient) -> None:
    # given the suite's database and Redis, both up
    # when /health is asked for
    response = await http.get("/health")
    # then it reports both reachable
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "redis": True}


def test_health_is_503_when_redis_goes_away(tmp_path: Path) -> None:
    # given a server started on a Redis of its own
    redis_server = OwnRedis()
    env = SECRETS | {
        "LOYALTY_DATA_DIR": str(tmp_path / "data"),
        "LOYALTY_REDIS_URL": redis_server.url,
    }
    try:
        server = serve(env, tmp_path, "no-redis")
        try:
            assert httpx.get(server.url + "/health", timeout=10).status_code == 200
            # when that Redis stops
            redis_server.stop()
            # then /health says the database is fine and Redis is not, with 503
            response = httpx.get(server.url + "/health", timeout=10)
            assert response.status_code == 503
            assert response.json() == {"status": "degraded", "database": True, "redis": False}
            # and the API still answers what needs no Redis
            assert server.gql("{ viewerRole }", SECRETS["LOYALTY_INTEGRATION_KEY"])["data"] == {
                "viewerRole": "INTEGRATION"
            }
        finally:
            server.stop()
    finally:
        redis_server.stop()
