"""GET /health reports whether the database and Redis are reachable."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.acceptance.conftest import free_port
from tests.server.processes import serve
from tests.server.test_cli import SECRETS


async def test_health_reports_database_and_redis(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "redis": True}


def test_health_is_503_when_redis_is_unreachable(tmp_path: Path) -> None:
    # given a server whose Redis URL points at a port nothing listens on
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = SECRETS | {"LOYALTY_DATA_DIR": str(tmp_path / "data"), "LOYALTY_REDIS_URL": dead_redis}
    server = serve(env, tmp_path, "no-redis")
    try:
        # when /health is asked
        response = httpx.get(server.url + "/health", timeout=10)
        # then it says the database is fine and Redis is not, with 503
        assert response.status_code == 503
        assert response.json() == {"status": "degraded", "database": True, "redis": False}
        # and the API still answers what needs no Redis
        assert server.gql("{ viewerRole }", SECRETS["LOYALTY_INTEGRATION_KEY"])["data"] == {
            "viewerRole": "INTEGRATION"
        }
    finally:
        server.stop()
