"""The hot paths of issue 11 in one table: `make bench` (python -m bench.hotpaths).

On PostgreSQL + Redis (LOYALTY_BENCH_DATABASE_URL / LOYALTY_BENCH_REDIS_URL, by default the
local servers), the real service in production mode with 1 and 2 worker processes
(bench/servers.py), driven by wrk with Lua-written bodies (bench/wrk.py) at 32 connections:

  trackAction   50 live DAILY missions on the action type (one action in 5 completes one
                of them: bench/fixtures.py), 2,000 members; every request a new
                idempotency key and the next member
  recordOrder   a new orderId per request, the next member, 100,000-2,099,000 VND
  home          `me { pointsBalance tierPoints tier { code } badges { badge { code } } }
                myMissions { progress target completed }`, the 2,000 members' tokens in turn
  leaderboard   `leaderboard(key: "points", first: 10) { entries { rank score member
                { displayName } } me { rank } aroundMe(radius: 2) { rank score } }` on a
                1,000,000-member board, 256 members' tokens in turn
  trackActions  batches of 100 actions (`trackActions(inputs: [...])`), "n/a (not served)"
                while the service has no such mutation; at --batch-connections (4): 32
                batches of 100 in flight would take longer than a figure's seconds
  fanout        one event to 1,000 graphql-transport-ws `memberEvents` subscriptions of one
                member (bench/fanout.py): p50/p99 over repeated events of the time from the
                write to the last socket

Every throughput figure stands beside two baselines of the same run (bench/baselines.py): a
bare Starlette JSON POST, and the stack's ceiling (strawberry with ParserCache and
ValidationCache, one asyncpg INSERT ... ON CONFLICT per mutation on one held connection, one
worker). Both are measured at the start and at the end, and the ceiling once more right
before each figure, which is what that figure's ratio is to: on a machine others share, the
load can change several-fold within a run. The home and leaderboard rows also stand beside
their shape ceiling: the same ceiling app answering that row's own query (HOME's or
LEADERBOARD's selection, from memory after one asyncpg SELECT per request: bench/baselines.py)
driven by the row's own wrk script, measured right before the row with its CPU per request:
what the response's shape alone costs on this stack, which the mutation ceiling does not
show. The data is in bench/fixtures.py; each run makes its own databases and Redis prefixes
and removes them.

    python -m bench.hotpaths [--workers 1,2] [--only trackAction,home] [--seconds 12]
        [--warmup 3] [--profile] [--output table.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import common, cpu, fanout, profiling, servers, wrk
from bench.fixtures import (
    BONUS_EVERY,
    KEY,
    TRACK,
    Board,
    Shop,
    build_board,
    set_up_shop,
    tokens,
)
from bench.servers import Process, log

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  pointsEarned duplicate errors { code message } } }"""
HOME = """{ me { pointsBalance tierPoints tier { code } badges { badge { code } } }
  myMissions { progress target completed } }"""
LEADERBOARD = """{ leaderboard(key: "points", first: 10) {
  entries { rank score member { displayName } }
  me { rank } aroundMe(radius: 2) { rank score } } }"""
BATCH = "mutation($i: [TrackActionInput!]!) {{ trackActions(inputs: $i) {selection} }}"
# What trackActions may return: a list of TrackActionPayload, or one payload around them.
BATCH_SELECTIONS = [
    "{ pointsAwarded duplicate errors { code message } }",
    "{ results { pointsAwarded duplicate errors { code message } } errors { code message } }",
    "{ __typename }",
]

ROWS = ["trackAction", "recordOrder", "home", "leaderboard", "trackActions", "fanout"]
LABELS = {
    "bare": "baseline: bare Starlette JSON POST",
    "ceiling": "baseline: ceiling (strawberry + 1 asyncpg INSERT ... ON CONFLICT)",
    "trackAction": "trackAction, {missions} live DAILY missions",
    "recordOrder": "recordOrder",
    "home": "home query (me + myMissions)",
    "leaderboard": "leaderboard query, {board_members:,}-member board",
    "trackActions": "trackActions, batches of {batch_size}",
    "fanout": "one event to {sockets:,} sockets (ms from the write to the last socket)",
}


def label(name: str, args: argparse.Namespace) -> str:
    return LABELS[name].format(**vars(args))


# -- request scripts ---------------------------------------------------------------------

INTEGRATION = f"Bearer {common.INTEGRATION}"


ACTION = {
    "memberExternalId": "bench-<<m>>",
    "type": KEY,
    "value": "<<v>>",
    "attributes": "<<b>>",
    "idempotencyKey": "<<k>>",
}
# Lua: action n's attributes ({"bonus": true} for one in BONUS_EVERY) and value (1-5),
# not in step with n % members, so that every member gets some of each.
BONUS = f"""local function bonus(n)
  if math.floor(n / 3) % {BONUS_EVERY} == 0 then return '{{"bonus": true}}' end
  return '{{"bonus": false}}'
end
local function value(n) return 1 + math.floor(n / 7) % 5 end"""


def track_script(members: int) -> wrk.Script:
    formats = {"m": "%d", "v": "%d", "b": "%s", "k": '"%s-%d"'}
    body = wrk.template({"query": TRACK, "variables": {"i": ACTION}}, formats)
    lua = f"""local template = {body}
{BONUS}
function body(i) return string.format(template, i % members, value(i), bonus(i), run, i) end"""
    return wrk.Script(lua, members=members, authorization=INTEGRATION)


def order_script(members: int) -> wrk.Script:
    variables = {"orderId": "<<o>>", "memberExternalId": "bench-<<m>>", "amount": "<<a>>"}
    body = wrk.template(
        {"query": RECORD, "variables": {"i": variables}}, {"o": '"%s-%d"', "m": "%d", "a": '"%d"'}
    )
    lua = f"""local template = {body}
function body(i)
  return string.format(template, run, i, i % members, 100000 + (i * 7919) % 2000 * 1000)
end"""
    return wrk.Script(lua, members=members, authorization=INTEGRATION)


def batch_script(members: int, batch: int, selection: str) -> wrk.Script:
    """`batch` actions per request, of consecutive members, each a new idempotency key."""
    head = wrk.template(
        {"query": BATCH.format(selection=selection), "variables": {"i": ["<<items>>"]}},
        {"items": "%s"},
    )
    item = wrk.template(ACTION, {"m": "%d", "v": "%d", "b": "%s", "k": '"%s-%d-%d"'})
    lua = f"""local head, item = {head}, {item}
{BONUS}
function body(i)
  local parts = {{}}
  for j = 0, batch - 1 do
    local n = i * batch + j
    parts[j + 1] = string.format(item, n % members, value(n), bonus(n), run, i, j)
  end
  return string.format(head, table.concat(parts, ","))
end"""
    return wrk.Script(lua, members=members, batch=batch, authorization=INTEGRATION)


def query_script(query: str, member_tokens: list[str]) -> wrk.Script:
    return wrk.Script(wrk.constant({"query": query}), tokens=tuple(member_tokens))


async def batch_selection(url: str) -> str | None:
    """The selection trackActions accepts, or None when the service does not serve it."""
    text = ""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for n, selection in enumerate(BATCH_SELECTIONS):
            inputs = [
                {"memberExternalId": "bench-0", "type": KEY, "idempotencyKey": f"probe-{n}-{k}"}
                for k in range(2)
            ]
            response = await client.post(
                "/graphql",
                json={"query": BATCH.format(selection=selection), "variables": {"i": inputs}},
                headers={"Authorization": INTEGRATION},
            )
            errors = response.json().get("errors") or []
            text = " ".join(str(e.get("message", "")) for e in errors)
            if "Cannot query field" in text and "trackActions" in text:
                return None
            if not errors:
                return selection
    raise RuntimeError(f"trackActions is served but none of {BATCH_SELECTIONS} fits: {text}")


# -- figures -----------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    workers: int
    load: str  # the 1-minute load average when it started
    result: wrk.Result | None = None
    status: str = ""  # instead of figures: "n/a (not served)", "failed: ..."
    note: str = ""
    p50_ms: float | None = None  # the fan-out's, which has no wrk result
    p99_ms: float | None = None
    profile: str = ""
    ceiling: float | None = None  # req/s of the ceiling measured just before
    cpu: dict[str, float] = field(default_factory=dict)  # ms per request, by part (bench/cpu.py)
    shape: wrk.Result | None = None  # the ceiling app on this row's own query, just before
    shape_cpu: dict[str, float] = field(default_factory=dict)  # its CPU, as `cpu`


@dataclass
class Measured:
    warm: wrk.Result | None
    result: wrk.Result
    profile: str  # py-spy's summary, or ""
    ceiling: float | None  # the ceiling's req/s measured just before
    cpu: dict[str, float]  # ms of CPU per request, by part (bench/cpu.py)
    shape: wrk.Result | None = None  # the ceiling app on the row's own script, just before
    shape_cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Run:
    args: argparse.Namespace
    tmp: Path
    redis_url: str
    figures: list[Figure] = field(default_factory=list)
    ceiling: Process | None = None  # the ceiling app, up for the whole run
    # the database the figures being measured use: its backends' CPU counts (bench/cpu.py)
    database: str | None = None
    ceiling_database: str | None = None  # the ceiling app's

    def baseline(self, name: str) -> float | None:
        """The mean of a baseline's start and end figures."""
        rates = [f.result.per_second for f in self.figures if f.name == name and f.result]
        return statistics.mean(rates) if rates else None

    def ceiling_now(self) -> float | None:
        """The ceiling's req/s now (after a short warm-up), for the next figure's ratio."""
        if self.ceiling is None:
            return None
        args = self.args
        options: dict[str, Any] = {"connections": args.connections, "threads": args.threads}
        script = track_script(args.members)
        run_id = f"ceiling-{secrets.token_hex(3)}"
        wrk.run(self.ceiling.url, script, run_id=f"{run_id}-warm", seconds=1, **options)
        result = wrk.run(self.ceiling.url, script, run_id=run_id, seconds=args.seconds, **options)
        return result.per_second

    def shape_now(self, script: wrk.Script) -> tuple[wrk.Result | None, dict[str, float]]:
        """The ceiling app driven by a row's own query script now (after a short warm-up),
        with the CPU it and its database spent per request: the shape ceiling."""
        if self.ceiling is None:
            return None, {}
        args = self.args
        options: dict[str, Any] = {"connections": args.connections, "threads": args.threads}
        run_id = f"shape-{secrets.token_hex(3)}"
        wrk.run(self.ceiling.url, script, run_id=f"{run_id}-warm", seconds=1, **options)
        before = cpu.sample(self.ceiling.pid, self.ceiling_database)
        result = wrk.run(self.ceiling.url, script, run_id=run_id, seconds=args.seconds, **options)
        after = cpu.sample(self.ceiling.pid, self.ceiling_database)
        return result, before.per_request(after, result.requests)

    def measure(
        self,
        url: str,
        script: wrk.Script,
        tag: str,
        spy_on: int | None = None,
        *,
        baseline: bool = False,
        connections: int | None = None,
        service: int | None = None,
        shape: bool = False,
    ) -> Measured:
        """The ceiling now (unless measuring a baseline), with `shape` the ceiling app on
        this same script too, then a warm-up and the measured run, with the CPU each part
        spent on it (the service: `service`, else spy_on); with --profile, py-spy on spy_on
        during the measured run."""
        args = self.args
        ceiling = None if baseline else self.ceiling_now()
        shape_result, shape_cpu = self.shape_now(script) if shape else (None, {})
        connections = connections or args.connections
        options: dict[str, Any] = {
            "connections": connections,
            "threads": min(args.threads, connections),
        }
        run_id = f"{tag}-{secrets.token_hex(3)}"
        warm = None
        if args.warmup > 0:
            warm = wrk.run(url, script, run_id=f"{run_id}-warm", seconds=args.warmup, **options)
        spy, output = None, profile_path(args, tag)
        if args.profile and spy_on is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            spy = profiling.record(spy_on, args.seconds, output)
        before = cpu.sample(service or spy_on, self.database)
        result = wrk.run(url, script, run_id=run_id, seconds=args.seconds, **options)
        spent = before.per_request(cpu.sample(service or spy_on, self.database), result.requests)
        summary = ""
        if spy is not None:
            profiling.finish(spy)
            summary = f"raw stacks: {output}\n\n{profiling.summary(output)}"
        return Measured(warm, result, summary, ceiling, spent, shape_result, shape_cpu)

    def add(
        self,
        name: str,
        workers: int,
        load: str,
        measured: Measured,
        note: str = "",
    ) -> None:
        result, shape = measured.result, measured.shape
        if result.failed:
            note = (note + "; " if note else "") + (
                f"{result.failed} failed, e.g. {result.sample[:160]}"
            )
        if shape is not None and shape.failed:
            note = (note + "; " if note else "") + (
                f"shape ceiling: {shape.failed} failed, e.g. {shape.sample[:160]}"
            )
        figure = Figure(name, workers, load, result=result, note=note, profile=measured.profile)
        figure.ceiling = measured.ceiling
        figure.cpu = measured.cpu
        figure.shape, figure.shape_cpu = shape, measured.shape_cpu
        self.figures.append(figure)
        log(
            f"{name}, {workers} worker(s): {result.per_second:,.1f} req/s, p50 "
            f"{result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {result.failed} failed"
        )


def profile_path(args: argparse.Namespace, tag: str) -> Path:
    return Path(args.profile_dir) / f"{tag}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.txt"


def one_minute_load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


# -- rows --------------------------------------------------------------------------------


def baseline_app(run: Run, name: str, ceiling_dsn: str) -> Process:
    port = common.free_port()
    command = [sys.executable, "-m", "bench.baselines", name, "--port", str(port)]
    if name == "ceiling":
        command += ["--dsn", ceiling_dsn, "--missions", str(run.args.missions)]
    env = os.environ | {"PYTHONPATH": str(common.ROOT)}
    return servers.start(f"baseline-{name}", command, env, port, run.tmp, 60)


async def baselines(run: Run, ceiling_dsn: str, when: str) -> None:
    """Both baselines as rows of their own; at the start the ceiling stays up afterwards."""
    script = track_script(run.args.members)
    if run.ceiling is None:
        run.ceiling = baseline_app(run, "ceiling", ceiling_dsn)
        run.ceiling_database = database_name(ceiling_dsn)
    for name in ("bare", "ceiling"):
        load = one_minute_load()
        log(f"{name} ({when}): measuring")
        app = baseline_app(run, "bare", ceiling_dsn) if name == "bare" else run.ceiling
        run.database = database_name(ceiling_dsn)
        try:
            measured = run.measure(
                app.url, script, f"{name}-{when}", baseline=True, service=app.pid
            )
        finally:
            if name == "bare":
                app.stop()
        run.add(name, 1, load, measured, note=f"at the {when}")


Row = Callable[[Run, Shop, Process, int, str], Awaitable[None]]


async def track_action(run: Run, shop: Shop, server: Process, workers: int, load: str) -> None:
    tag = f"trackAction-w{workers}"
    measured = run.measure(server.url, track_script(shop.members), tag, server.pid)
    note = f"1 action in {BONUS_EVERY} completes a mission" if run.args.missions else ""
    run.add("trackAction", workers, load, measured, note)


async def record_order(run: Run, shop: Shop, server: Process, workers: int, load: str) -> None:
    measured = run.measure(
        server.url, order_script(shop.members), f"recordOrder-w{workers}", server.pid
    )
    run.add("recordOrder", workers, load, measured)


async def home(run: Run, shop: Shop, server: Process, workers: int, load: str) -> None:
    script = query_script(HOME, shop.tokens)
    measured = run.measure(server.url, script, f"home-w{workers}", server.pid, shape=True)
    wrote = any(f.name in ("trackAction", "recordOrder") for f in run.figures)
    note = "after the write rows: members hold their results" if wrote else "no write row ran first"
    run.add("home", workers, load, measured, note)


async def track_actions(run: Run, shop: Shop, server: Process, workers: int, load: str) -> None:
    selection = await batch_selection(server.url)
    if selection is None:
        run.figures.append(Figure("trackActions", workers, load, status="n/a (not served)"))
        log(f"trackActions, {workers} worker(s): n/a (not served)")
        return
    script = batch_script(shop.members, run.args.batch_size, selection)
    connections = run.args.batch_connections
    measured = run.measure(
        server.url, script, f"trackActions-w{workers}", server.pid, connections=connections
    )
    run.add("trackActions", workers, load, measured, f"{connections} connections")


async def fan_out(run: Run, shop: Shop, server: Process, workers: int, load: str) -> None:
    args = run.args
    spy: subprocess.Popen[bytes] | None = None
    output = profile_path(args, f"fanout-w{workers}")

    def connected() -> None:
        nonlocal spy
        if args.profile:
            output.parent.mkdir(parents=True, exist_ok=True)
            spy = profiling.record(server.pid, args.seconds, output)

    result = await fanout.measure(
        server.url,
        member_external_id="fanout-0",
        token=shop.fanout_token,
        admin_key=common.ADMIN,
        sockets=args.sockets,
        events=args.events,
        seconds=max(60.0, args.events * 1.0),
        first_event=shop.events_sent + 1,
        on_connected=connected,
    )
    shop.events_sent += args.events + 100  # past any warm-up or timed-out numbers
    profile = ""
    if spy is not None:
        profiling.finish(spy)
        profile = f"raw stacks: {output}\n\n{profiling.summary(output)}"
    figure = Figure("fanout", workers, load, profile=profile)
    if not result.to_last:
        figure.status = f"failed: no event reached all {args.sockets} sockets"
        figure.note = "; ".join(result.problems[:2])
        run.figures.append(figure)
        return
    figure.p50_ms = statistics.median(result.to_last) * 1000
    figure.p99_ms = common.percentile(result.to_last, 99) * 1000
    notes = [
        f"{len(result.to_last)} events (p99 = the "
        f"{'largest' if len(result.to_last) <= 100 else 'rank 0.99 n'})",
        f"to the median socket p50 {statistics.median(result.to_median) * 1000:.1f} ms",
        f"adjustPoints response p50 {statistics.median(result.write) * 1000:.1f} ms",
        f"{args.sockets} sockets opened in {result.connect_seconds:.1f} s",
    ]
    if result.incomplete:
        notes.append(f"{result.incomplete} events missed a socket for 10 s")
    if result.problems:
        notes.append(f"socket problems: {result.problems[0][:100]}")
    figure.note = "; ".join(notes)
    run.figures.append(figure)
    log(f"fanout, {workers} worker(s): p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms")


SHOP_ROWS: dict[str, Row] = {
    "trackAction": track_action,
    "recordOrder": record_order,
    "home": home,
    "trackActions": track_actions,
    "fanout": fan_out,
}


def database_name(db_url: str) -> str:
    return urlsplit(db_url).path.lstrip("/")


def pooled(db_url: str, pool: int | None) -> str:
    """The service's database URL with its pool size (`maxsize`) when --pool gives one."""
    if pool is None:
        return db_url
    return f"{db_url}{'&' if '?' in db_url else '?'}maxsize={pool}"


async def shop_rows(run: Run, shop: Shop, workers: int, names: list[str]) -> None:
    env = common.service_env(
        run.tmp,
        pooled(shop.db_url, run.args.pool),
        redis_url=run.redis_url,
        prefix=shop.prefix,
        production=True,
        jobs=not run.args.no_jobs,
    )
    run.database = database_name(shop.db_url)
    if not shop.ready:
        servers.run_cli(env, run.tmp, "migrate")
    log(f"shop server, {workers} worker(s): starting")
    timeout = run.args.start_timeout
    with servers.service(f"shop-w{workers}", env, workers, run.tmp, timeout) as server:
        if not shop.ready:
            await set_up_shop(shop, server.url)
        for name in names:
            load = one_minute_load()
            log(f"{name}, {workers} worker(s): measuring")
            try:
                await SHOP_ROWS[name](run, shop, server, workers, load)
            except Exception as exc:  # one broken row must not lose the others
                log(f"{name}: failed: {exc}\n{server.tail(20)}")
                run.figures.append(Figure(name, workers, load, status=f"failed: {exc}"[:140]))


async def board_row(run: Run, board: Board, workers: int) -> None:
    env = common.service_env(
        run.tmp,
        pooled(board.db_url, run.args.pool),
        redis_url=run.redis_url,
        prefix=board.prefix,
        production=True,
        jobs=not run.args.no_jobs,
    )
    run.database = database_name(board.db_url)
    if not board.built:
        await build_board(board, env, run.tmp)
    log(f"board server, {workers} worker(s): starting")
    timeout = run.args.start_timeout
    with servers.service(f"board-w{workers}", env, workers, run.tmp, timeout) as server:
        if not board.tokens:
            async with common.http_client(server.url, 24, timeout=60) as client:
                board.tokens = await tokens(client, board.token_holders())
        load = one_minute_load()
        log(f"leaderboard, {workers} worker(s): measuring")
        try:
            script = query_script(LEADERBOARD, board.tokens)
            tag = f"leaderboard-w{workers}"
            measured = run.measure(server.url, script, tag, server.pid, shape=True)
        except Exception as exc:
            log(f"leaderboard: failed: {exc}\n{server.tail(20)}")
            run.figures.append(Figure("leaderboard", workers, load, status=f"failed: {exc}"[:140]))
            return
        run.add("leaderboard", workers, load, measured)


# -- the table ---------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _shape_cells(rate: float, shape: wrk.Result | None, spent: dict[str, float]) -> list[str]:
    """The shape ceiling's req/s, the figure's ratio to it, and its CPU: app / PostgreSQL
    (it uses no Redis)."""
    if shape is None or not shape.per_second:
        return ["", "", ""]
    used = (
        f"{max(spent.get('service', 0.0), 0.0):.2f} / {max(spent.get('postgres', 0.0), 0.0):.2f}"
        if spent
        else ""
    )
    return [f"{shape.per_second:,.1f}", f"{rate / shape.per_second:.3f}", used]


def table(run: Run, header: list[str]) -> str:
    args = run.args
    ceiling, bare = run.baseline("ceiling"), run.baseline("bare")
    single = {
        f.workers: f.result.per_second
        for f in run.figures
        if f.name == "trackAction" and f.result and f.result.per_second
    }
    order = ["bare", "ceiling", *ROWS]
    lines = [
        *header,
        "",
        "| operation | workers | req/s | p50 ms | p99 ms | ceiling req/s just before | "
        "÷ ceiling | ÷ bare | CPU ms/req: service / PostgreSQL / Redis | "
        "shape ceiling req/s just before | ÷ shape | shape ceiling CPU ms/req: app / "
        "PostgreSQL | load 1 min | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in sorted(run.figures, key=lambda f: (order.index(f.name), f.workers)):
        note = f.note
        if f.status:
            cells = [f.status, "", "", "", "", "", "", "", "", ""]
        elif f.result is not None:
            rate = f.result.per_second
            if f.name == "trackActions":
                actions = rate * args.batch_size
                extra = f"{actions:,.0f} actions/s"
                if single.get(f.workers):
                    extra += f" = {actions / single[f.workers]:.1f}x trackAction's"
                note = f"{extra}; {note}" if note else extra
            against = f.ceiling or ceiling
            cells = [
                f"{rate:,.1f}",
                _ms(f.result.p50_ms),
                _ms(f.result.p99_ms),
                f"{f.ceiling:,.1f}" if f.ceiling else "",
                f"{rate / against:.3f}" if against else "",
                f"{rate / bare:.3f}" if bare else "",
                cpu.describe(f.cpu),
                *_shape_cells(rate, f.shape, f.shape_cpu),
            ]
        else:
            cells = ["—", _ms(f.p50_ms), _ms(f.p99_ms), "", "", "", "", "", "", ""]
        lines.append(
            f"| {label(f.name, args)} | {f.workers} | "
            + " | ".join(cells)
            + f" | {f.load} | {note} |"
        )
    if ceiling:
        lines += [
            "",
            "÷ ceiling: to the ceiling measured just before the figure (the baselines' own "
            f"rows: to the mean of their start and end, {ceiling:,.0f} req/s); ÷ bare: to the "
            f"mean of the bare app's start and end ({bare or 0:,.0f} req/s).",
        ]
    if any(f.shape for f in run.figures):
        lines += [
            "",
            "Shape ceiling (home and leaderboard rows): the ceiling app answering the row's own "
            "query (the same selection, from memory after one asyncpg SELECT per request, one "
            "worker) with the row's wrk script, measured just before the figure; ÷ shape is the "
            "figure's req/s over it: how near the service comes to what the response's shape "
            "alone costs on this stack.",
        ]
    return "\n".join(lines)


async def versions(db_url: str, redis_url: str) -> str:
    import asyncpg
    import redis.asyncio as aioredis

    connection = await asyncpg.connect(db_url.replace("postgres://", "postgresql://", 1))
    try:
        pg = str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()
    client = aioredis.Redis.from_url(redis_url)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    return f"PostgreSQL {pg} + Redis {info.get('redis_version', '?')}"


def git_revision() -> str:
    def git(*arguments: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(common.ROOT), *arguments], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("log", "-1", "--format=%h (%cs)") + (" + uncommitted changes" if dirty else "")


# -- main --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def maybe_database(tmp: Path, tag: str, server_url: str, wanted: bool) -> AsyncIterator[str]:
    if not wanted:
        yield ""
        return
    async with common.database(tmp, tag, server_url) as url:
        yield url


async def all_rows(
    run: Run,
    rows: list[str],
    ceiling_url: str,
    shop_url: str,
    board_url: str,
    prefixes: tuple[str, str],
) -> None:
    """Baselines first, then per worker count the shop's rows and the board's, baselines last."""
    args = run.args
    ceiling_dsn = ceiling_url.replace("postgres://", "postgresql://", 1)
    throughput = any(r != "fanout" for r in rows)
    shop_names = [r for r in rows if r in SHOP_ROWS]
    if throughput:
        await baselines(run, ceiling_dsn, "start")
    shop = Shop(shop_url, prefixes[0], args.members, args.missions)
    board = Board(board_url, prefixes[1], args.board_members)
    for workers in args.workers:
        if shop_names:
            await shop_rows(run, shop, workers, shop_names)
        if "leaderboard" in rows:
            await board_row(run, board, workers)
    if throughput:
        await baselines(run, ceiling_dsn, "end")


async def main(args: argparse.Namespace) -> int:
    if wrk.executable() is None:
        print(wrk.INSTALL_HINT, file=sys.stderr)
        return 2
    if args.profile and profiling.executable() is None:
        print(profiling.MISSING, file=sys.stderr)
        return 2
    server_url = os.environ.get("LOYALTY_BENCH_DATABASE_URL") or DEFAULT_DATABASE
    redis_url = os.environ.get("LOYALTY_BENCH_REDIS_URL") or DEFAULT_REDIS
    if not server_url.startswith("postgres"):
        print("bench.hotpaths runs on PostgreSQL: LOYALTY_BENCH_DATABASE_URL", file=sys.stderr)
        return 2
    rows = [r for r in ROWS if not args.only or r in args.only]
    shop_names = [r for r in rows if r in SHOP_ROWS]
    throughput = [r for r in rows if r != "fanout"]
    # The fan-out's sockets (both ends) and wrk's connections: past a 1,024 default.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stack = await versions(server_url, redis_url)
    how = servers.how_workers_run()
    started = dt.datetime.now(dt.UTC)
    load_before = common.load_average()
    log(f"load average before: {load_before}; rows {rows}, workers {args.workers}")
    prefixes = shop_prefix, board_prefix = common.new_prefix("hot"), common.new_prefix("board")
    with tempfile.TemporaryDirectory(prefix="loyalty-hot-") as tmp_name:
        tmp = Path(tmp_name)
        run = Run(args=args, tmp=tmp, redis_url=redis_url)
        try:
            async with (
                maybe_database(tmp, "ceiling", server_url, bool(throughput)) as ceiling_url,
                maybe_database(tmp, "shop", server_url, bool(shop_names)) as shop_url,
                maybe_database(tmp, "board", server_url, "leaderboard" in rows) as board_url,
            ):
                try:
                    await all_rows(run, rows, ceiling_url, shop_url, board_url, prefixes)
                finally:
                    if run.ceiling is not None:  # before its database goes
                        run.ceiling.stop()
        finally:
            for prefix in (shop_prefix, board_prefix):
                await common.delete_redis_keys(redis_url, prefix)
    finished = dt.datetime.now(dt.UTC)
    jobs = "no jobs: `loyalty worker` would run them" if args.no_jobs else "its jobs on"
    header = [
        f"Hot paths (issue 11), {started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC, "
        f"code {git_revision()}",
        f"- {stack} on this machine; the service in production mode ({jobs}); workers: {how}",
        f"- load: {wrk.version()}, {args.threads} threads, {args.connections} connections, "
        f"{args.warmup:g} s warm-up then {args.seconds:g} s per figure",
        f"- machine: os.cpu_count() = {os.cpu_count()} cores, shared by the service, "
        f"PostgreSQL, Redis, wrk (and anyone else's work); load average (1/5/15 min) "
        f"before {load_before}, after {common.load_average()}",
    ]
    if args.profile:
        header.append("- profiled: py-spy sampled the server during each measured run")
    text = table(run, header)
    profiles = "".join(
        f"\n\n### py-spy: {label(f.name, args)}, {f.workers} worker(s)\n\n```\n{f.profile}\n```"
        for f in run.figures
        if f.profile
    )
    print(text + profiles, flush=True)
    if args.output:
        await asyncio.to_thread(Path(args.output).write_text, text + profiles + "\n")
    return 1 if any(f.status.startswith("failed") for f in run.figures) else 0


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"rows are {', '.join(ROWS)}; not {unknown}")
    return names


def _counts(text: str) -> list[int]:
    try:
        counts = [int(n) for n in text.split(",") if n.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError("a comma-separated list such as 1,2") from exc
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("worker counts of at least 1")
    return counts


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], epilog=f"rows: {', '.join(ROWS)}"
    )
    parser.add_argument("--only", type=_names, help="the rows to run, comma-separated")
    parser.add_argument("--workers", type=_counts, default=[1, 2], help="default 1,2")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured, per figure")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, per figure")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--missions", type=int, default=50)
    parser.add_argument("--board-members", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--batch-connections",
        type=int,
        default=4,
        help="wrk connections of the trackActions row (each has a batch in flight)",
    )
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="connections per server process (the database URL's maxsize; tortoise's default 5)",
    )
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="servers without the time-driven jobs (LOYALTY_JOBS_INTERVAL_SECONDS=0), as when "
        "`loyalty worker` runs them elsewhere",
    )
    parser.add_argument("--events", type=int, default=100, help="fan-out events measured")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during each measured run"
    )
    parser.add_argument("--profile-dir", default=str(common.ROOT / "bench" / "profiles"))
    parser.add_argument("--output", help="also write the table (and profiles) to this file")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import uvloop  # the service's loop (uvicorn[standard]); the sockets' client is cheaper
    except ImportError:
        return asyncio.run(main(args))
    return int(uvloop.run(main(args)))


if __name__ == "__main__":
    sys.exit(run())
