"""The `loyalty` command run for real: migrate, create-api-key, production start checks."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.server.processes import loyalty, serve

SECRETS = {
    "LOYALTY_SECRET_KEY": "cli-test-secret-0123456789abcdef",
    "LOYALTY_ADMIN_KEY": "adm_cli-test-admin-key-0123456789abcdef",
    "LOYALTY_INTEGRATION_KEY": "int_cli-test-integration-key-0123456789",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is neither the project nor the data dir."""
    path = tmp_path / "somewhere" / "else"
    path.mkdir(parents=True)
    return path


def test_created_api_keys_are_stored_hashed_and_work(data_dir: Path, elsewhere: Path) -> None:
    env = {"LOYALTY_DATA_DIR": str(data_dir)}
    # given a migrated SQLite database under the data dir, from another working directory
    migrated = loyalty("migrate", env=env, cwd=elsewhere)
    assert migrated.returncode == 0, migrated.stderr
    assert (data_dir / "loyalty.sqlite3").exists()
    # when an integration key and an admin key are created
    keys = {}
    for role in ("integration", "admin"):
        created = loyalty(
            "create-api-key", "--role", role, "--label", "pos", env=env, cwd=elsewhere
        )
        assert created.returncode == 0, created.stderr
        keys[role] = created.stdout.strip().splitlines()[-1]
    # then only their hashes are stored
    with sqlite3.connect(data_dir / "loyalty.sqlite3") as db:
        rows = db.execute(
            "SELECT role, key_hash, prefix, label FROM api_key ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("INTEGRATION", hashlib.sha256(keys["integration"].encode()).hexdigest()),
        ("ADMIN", hashlib.sha256(keys["admin"].encode()).hexdigest()),
    ]
    for row in rows:
        assert not any(key in str(value) for key in keys.values() for value in row)
    # and each key works with its role on the real server (bootstrap keys set, so these
    # are found in the table)
    server = serve(env | SECRETS, elsewhere, "cli")
    try:
        assert server.gql("{ viewerRole }", keys["integration"])["data"] == {
            "viewerRole": "INTEGRATION"
        }
        assert server.gql("{ viewerRole }", keys["admin"])["data"] == {"viewerRole": "ADMIN"}
        enrolled = server.gql(
            'mutation { enrollMember(input: {externalId: "cli-1", displayName: "Võ Thị Sáu"}) '
            "{ member { externalId } errors { code } } }",
            keys["integration"],
        )
        assert enrolled["data"]["enrollMember"] == {
            "member": {"externalId": "cli-1"},
            "errors": [],
        }
        # an integration key is refused an admin mutation
        refused = server.gql(
            'mutation { updateProgram(input: {name: "x"}) { errors { code } } }',
            keys["integration"],
        )
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # a key that was never created is refused
        unknown = server.gql("{ viewerRole }", "int_never-created-0000000000")
        assert unknown["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        server.stop()


def test_unknown_role_is_refused_by_the_cli(data_dir: Path, elsewhere: Path) -> None:
    result = loyalty(
        "create-api-key", "--role", "member", env={"LOYALTY_DATA_DIR": str(data_dir)}, cwd=elsewhere
    )
    assert result.returncode != 0
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize(
    "missing",
    [
        ("LOYALTY_SECRET_KEY", "LOYALTY_ADMIN_KEY", "LOYALTY_INTEGRATION_KEY"),
        ("LOYALTY_SECRET_KEY",),
    ],
)
def test_production_without_a_secret_stops_with_one_clear_line(
    data_dir: Path, elsewhere: Path, missing: tuple[str, ...]
) -> None:
    # given production settings lacking a secret
    env = {"LOYALTY_ENV": "production", "LOYALTY_DATA_DIR": str(data_dir)} | {
        k: v for k, v in SECRETS.items() if k not in missing
    }
    # when the service is started
    result = loyalty("serve", env=env, cwd=elsewhere, timeout=60)
    # then it stops at once with one line naming what is missing, and nothing else
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loyalty: missing required setting")
    for name in missing:
        assert name in lines[0]
    for name in set(SECRETS) - set(missing):
        assert name not in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (data_dir / "loyalty.sqlite3").exists()  # it stopped before touching anything


def test_a_malformed_setting_stops_with_one_clear_line(elsewhere: Path) -> None:
    result = loyalty("serve", env={"LOYALTY_PORT": "eighty"}, cwd=elsewhere)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "LOYALTY_PORT" in lines[0], result.stderr


def test_production_serves_without_graphiql_or_introspection(
    data_dir: Path, elsewhere: Path
) -> None:
    env = SECRETS | {"LOYALTY_ENV": "production", "LOYALTY_DATA_DIR": str(data_dir)}
    server = serve(env, elsewhere, "production")
    try:
        ide = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
        assert ide.status_code == 404 and "graphiql" not in ide.text.lower()
        body = server.gql("{ __schema { types { name } } }", SECRETS["LOYALTY_ADMIN_KEY"])
        assert body.get("data") is None
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert server.gql("{ viewerRole }", SECRETS["LOYALTY_ADMIN_KEY"])["data"] == {
            "viewerRole": "ADMIN"
        }
    finally:
        server.stop()
    # the banner does not print the keys in production
    assert SECRETS["LOYALTY_ADMIN_KEY"] not in server.log.read_text()
