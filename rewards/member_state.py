"""A member's standing, one row: what every screen shows and every write locks first.

`member_state` holds lifetime points, counted tier points and the tier held (with its grace
period and what promoted the member); the spendable and pending balances are the member's
ledger accounts. `lock()` is the first statement of every write about a member: ONE
`UPDATE ... RETURNING` that takes the member's row lock (the lock order is member_state,
then the member's ledger accounts, then the program's accounts, so writers never deadlock)
and returns the state with both balances and whatever else the caller asks for in the same
round trip (`peeks`: scalar subqueries such as "was this idempotency key used?").

The unit of work keeps the `State` it locked; steps change it in memory and the
`StateWrites` buffer writes every changed row back in one statement at the end.

Counted tier points under a rolling window shrink as old entries leave it: `tier_points`
is exact until `tier_points_until` (when the oldest counted entry leaves); past it the next
reader recounts (`counted_tier_points`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from tortoise import fields
from tortoise.models import Model

from core import sql
from core.definitions import VERSION_SUBQUERY, seen
from core.errors import DomainError, NotFound
from core.events import Buffer, buffer, current

ROLLING_DAYS = 365


class MemberState(Model):
    member_id = fields.IntField(primary_key=True, generated=False)
    lifetime = fields.BigIntField(default=0)
    tier_points = fields.BigIntField(default=0)
    # Under a rolling window, tier_points is exact until then (None: no entry will leave).
    tier_points_until = fields.DatetimeField(null=True)
    tier_code = fields.CharField(max_length=32, null=True)
    grace_until = fields.DatetimeField(null=True)
    # The order whose tier points moved the member into tier_code, and the tier before it:
    # refunding that order is the one immediate demotion.
    promoted_by_order = fields.CharField(max_length=128, null=True)
    tier_before = fields.CharField(max_length=32, null=True)
    tier_changed_at = fields.DatetimeField(null=True)
    # Bumped by every lock: tells a locker whether it waited for another writer (below).
    seq = fields.BigIntField(default=0)

    class Meta:
        table = "member_state"


@dataclass
class State:
    member_id: int
    available: int
    pending: int
    lifetime: int
    tier_points: int
    tier_points_until: datetime | None
    tier_code: str | None
    grace_until: datetime | None
    promoted_by_order: str | None
    tier_before: str | None
    tier_changed_at: datetime | None
    peeks: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False

    def touch(self) -> None:
        """Mark the row changed (the unit writes it back at its end)."""
        if not self.dirty:
            self.dirty = True
            buffer(StateWrites).states.append(self)


COLUMNS = (
    "member_id, lifetime, tier_points, tier_points_until, tier_code, grace_until,"
    " promoted_by_order, tier_before, tier_changed_at"
)


def _balance(kind: str) -> str:
    return (
        f"(SELECT balance FROM ledger_account WHERE member_id = member_state.member_id"
        f" AND kind = '{kind}') AS {kind.lower()}"
    )


@dataclass(frozen=True)
class Peek:
    """A scalar subquery returned with the lock: `sql` may use `$m` for the member's id
    and `$1..$n` for its own `params`."""

    name: str
    sql: str
    params: Sequence[Any] = ()


_NUMBERED = re.compile(r"\$(\d+)")


def _renumber(text: str, offset: int) -> str:
    return _NUMBERED.sub(lambda m: f"${int(m.group(1)) + offset}", text)


def _state(found: dict[str, Any], peeks: Sequence[Peek]) -> State:
    return State(
        member_id=int(found["member_id"]),
        available=int(found["available"] or 0),
        pending=int(found["pending"] or 0),
        lifetime=int(found["lifetime"]),
        tier_points=int(found["tier_points"]),
        tier_points_until=sql.decode_datetime(found["tier_points_until"]),
        tier_code=found["tier_code"],
        grace_until=sql.decode_datetime(found["grace_until"]),
        promoted_by_order=found["promoted_by_order"],
        tier_before=found["tier_before"],
        tier_changed_at=sql.decode_datetime(found["tier_changed_at"]),
        peeks={p.name: found[f"peek_{p.name}"] for p in peeks},
    )


def face_peek() -> Peek:
    """What a message to the member needs of their row (name, phone, email, whether erased),
    read with the lock by a unit that may message them: its words then need no read of
    their own (`face`)."""
    pack = "json_build_array" if sql.dialect() == "postgres" else "json_array"
    return Peek(
        "face", f"SELECT {pack}(display_name, phone, email, erased_at) FROM member WHERE id = $m"
    )


def face(member_id: int) -> tuple[State, list[Any]] | None:
    """The state this unit holds of the member (its balance and tier are this unit's own,
    written or not) and their face, `[display_name, phone, email, erased_at]`, if this unit
    locked them with `face_peek()`."""
    state = _cached(member_id)
    found = sql.decode_json(state.peeks.get("face")) if state is not None else None
    return (state, found) if state is not None and found else None


def _cached(member_id: int) -> State | None:
    unit = current()
    return unit.cache.get(("state", member_id)) if unit is not None else None


async def lock(
    member_id: int | None = None,
    *,
    external_id: str | None = None,
    peeks: Sequence[Peek] = (),
    field_name: str | None = None,
) -> State:
    """Lock the member (by id or external id) for the current unit and read their state.

    Also returns the definitions version to core.definitions (one round trip for both).
    A member locked before in this unit is answered from memory (peeks included only if
    asked the first time).
    """
    unit = current()
    if unit is None:
        raise RuntimeError("lock() outside unit_of_work()")
    known = _cached(member_id) if member_id is not None else None
    if known is not None and all(p.name in known.peeks for p in peeks):
        return known
    statement, params = _statement(member_id, external_id, peeks)
    found_row = await sql.row(statement, params)
    if found_row is None:
        await _create(member_id, external_id, field_name)
        found_row = await sql.row(statement, params)
        if found_row is None:
            raise NotFound("no such member", field_name)
    # (SQLite runs one writer at a time, and its subqueries see the new row: nothing to do.)
    if _waited(found_row) and sql.dialect() == "postgres":
        found_row = await sql.row(statement, params)
        assert found_row is not None
    seen(found_row["defs_version"])
    state = _state(found_row, peeks)
    if known is not None:  # keep what this unit changed; only the peeks are new
        known.peeks.update(state.peeks)
        return known
    unit.cache[("state", state.member_id)] = state
    return state


def _statement(
    member_id: int | None,
    external_id: str | None,
    peeks: Sequence[Peek],
    *,
    first: int = 1,
    tag: int | None = None,
) -> tuple[str, list[Any]]:
    """The lock statement of one member, its placeholders from `$first`; with a `tag`, the
    row also says which it is (`n`) and the peeks come as one JSON object (`peeks`)."""
    params: list[Any]
    if member_id is not None:
        where, params = f"member_id = ${first}", [member_id]
    else:
        where = f"member_id = (SELECT id FROM member WHERE external_id = ${first})"
        params = [external_id]
    extra = []
    for peek in peeks:
        text = _renumber(peek.sql, first - 1 + len(params)).replace("$m", "member_state.member_id")
        extra.append((peek.name, f"({text})"))
        params += list(peek.params)
    if tag is None:
        picks = "".join(f", {text} AS peek_{name}" for name, text in extra)
    else:
        pairs = ", ".join(f"'{name}', {text}" for name, text in extra)
        picks = f", json_build_object({pairs}) AS peeks, {int(tag)} AS n"
    # The subqueries read the statement's snapshot, taken BEFORE it waited for the row
    # lock; `seen_seq` is the row as that snapshot saw it. If another writer committed
    # while we waited, seq moved by two: run the statement again, lock held, fresh snapshot.
    statement = (
        f"UPDATE member_state SET seq = seq + 1 WHERE {where}"
        f" RETURNING {COLUMNS}, seq, (SELECT s.seq FROM member_state s"
        " WHERE s.member_id = member_state.member_id) AS seen_seq,"
        f" {_balance('AVAILABLE')}, {_balance('PENDING')},"
        f" {VERSION_SUBQUERY} AS defs_version{picks}"
    )
    return statement, params


def _waited(found: dict[str, Any]) -> bool:
    return found["seen_seq"] is None or int(found["seq"]) != int(found["seen_seq"]) + 1


@dataclass(frozen=True)
class Target:
    """One member for `lock_many`: by id, or else by external id, with its own peeks."""

    member_id: int | None
    external_id: str | None
    peeks: Sequence[Peek] = ()
    field_name: str | None = None


async def lock_many(targets: Sequence[Target]) -> list[State | DomainError]:
    """`lock()` for several DIFFERENT members, in this order, in ONE statement on
    PostgreSQL (a data-modifying CTE per member): each gets its state, or the error lock()
    raises for it (NotFound). A member whose row was missing, or whose snapshot went stale
    while it waited for the lock, is locked again on its own (as lock() does)."""
    unit = current()
    if unit is None:
        raise RuntimeError("lock_many() outside unit_of_work()")
    found: dict[int, dict[str, Any]] = {}
    uniform = _uniform(targets) if sql.dialect() == "postgres" and len(targets) > 1 else None
    if uniform is not None:
        for each in await sql.rows(*uniform):
            found[int(each["n"])] = each
    elif sql.dialect() == "postgres" and len(targets) > 1:
        parts: list[str] = []
        params: list[Any] = []
        for n, target in enumerate(targets):
            text, own = _statement(
                target.member_id, target.external_id, target.peeks, first=len(params) + 1, tag=n
            )
            parts.append(f"w{n} AS ({text})")
            params += own
        union = " UNION ALL ".join(f"SELECT * FROM w{n}" for n in range(len(targets)))
        for each in await sql.rows(f"WITH {', '.join(parts)} {union}", params):
            found[int(each["n"])] = each
    states: list[State | DomainError] = []
    for n, target in enumerate(targets):
        row = found.get(n)
        if row is None or _waited(row):
            try:
                states.append(
                    await lock(
                        target.member_id,
                        external_id=target.external_id,
                        peeks=target.peeks,
                        field_name=target.field_name,
                    )
                )
            except DomainError as refusal:
                states.append(refusal)
            continue
        seen(row["defs_version"])
        if "peeks" in row:
            peeked = sql.decode_json(row["peeks"]) or {}
            row = row | {f"peek_{p.name}": peeked.get(p.name) for p in target.peeks}
        state = _state(row, target.peeks)
        unit.cache[("state", state.member_id)] = state
        states.append(state)
    return states


_ROW_TYPES: dict[type, str] = {str: "text", int: "bigint", date: "date", datetime: "timestamptz"}


def _uniform(targets: Sequence[Target]) -> tuple[str, list[Any]] | None:
    """ONE `UPDATE ... FROM unnest(...)` locking every target, when they are all named the
    same way and their peeks differ only in scalar parameters (a batch's actions of one
    type): a short statement, planned in a moment whatever the number of members. A
    parameter equal for all targets is passed once; one that differs is a column of the
    unnest. None when the targets do not fit (then lock_many writes a CTE per member)."""
    by_id = targets[0].member_id is not None
    shape = [(p.name, p.sql, len(p.params)) for p in targets[0].peeks]
    if any(
        (t.member_id is not None) != by_id
        or [(p.name, p.sql, len(p.params)) for p in t.peeks] != shape
        for t in targets
    ):
        return None
    who = [t.member_id if by_id else t.external_id for t in targets]
    columns: list[tuple[str, str, list[Any]]] = [
        ("n", "bigint", list(range(len(targets)))),
        ("who", "bigint" if by_id else "text", who),
    ]
    shared: list[Any] = []
    picks: list[str] = []
    for j, (name, text, count) in enumerate(shape):
        names: dict[int, str] = {}
        for k in range(count):
            values = [t.peeks[j].params[k] for t in targets]
            kind = type(values[0])
            if all(type(v) is kind and v == values[0] for v in values):
                shared.append(values[0])
                names[k + 1] = f"$<{len(shared)}>"
            elif kind in _ROW_TYPES and all(type(v) is kind for v in values):
                columns.append((f"c{len(columns)}", _ROW_TYPES[kind], values))
                names[k + 1] = f"v.{columns[-1][0]}"
            else:
                return None
        own = _NUMBERED.sub(lambda m, names=names: names[int(m.group(1))], text)  # type: ignore[misc]
        picks.append(f", ({own.replace('$m', 'member_state.member_id')}) AS peek_{name}")
    unnest = ", ".join(f"${i + 1}::{kind}[]" for i, (_, kind, _) in enumerate(columns))
    labels = ", ".join(name for name, _, _ in columns)
    source = f"SELECT * FROM unnest({unnest}) AS v({labels})"
    if not by_id:
        source = (
            f"SELECT v.*, m.id AS mid FROM ({source}) AS v JOIN member m ON m.external_id = v.who"
        )
    first = len(columns)
    peeks = "".join(picks)
    peeks = re.sub(r"\$<(\d+)>", lambda m: f"${first + int(m.group(1))}", peeks)
    qualified = ", ".join(f"member_state.{c.strip()}" for c in COLUMNS.split(","))
    statement = (
        f"UPDATE member_state SET seq = member_state.seq + 1 FROM ({source}) AS v"
        f" WHERE member_state.member_id = v.{'who' if by_id else 'mid'}"
        f" RETURNING v.n AS n, {qualified}, member_state.seq, (SELECT s.seq FROM member_state s"
        " WHERE s.member_id = member_state.member_id) AS seen_seq,"
        f" {_balance('AVAILABLE')}, {_balance('PENDING')},"
        f" {VERSION_SUBQUERY} AS defs_version{peeks}"
    )
    return statement, [c[2] for c in columns] + shared


async def _create(member_id: int | None, external_id: str | None, field_name: str | None) -> None:
    """The state row and ledger accounts of a member who has none yet (race-safe)."""
    if member_id is None:
        found = await sql.row("SELECT id FROM member WHERE external_id = $1", [external_id])
        if found is None:
            raise NotFound(f"no member with externalId {external_id!r}", field_name)
        member_id = int(found["id"])
    else:
        exists = await sql.row("SELECT id FROM member WHERE id = $1", [member_id])
        if exists is None:
            raise NotFound("no such member", field_name)
    await create(member_id)


async def create(member_id: int) -> None:
    """Insert the member's state row and accounts if missing (enrolment, lazily otherwise)."""
    await sql.execute(
        "INSERT INTO member_state (member_id, lifetime, tier_points, seq) VALUES ($1, 0, 0, 0)"
        " ON CONFLICT (member_id) DO NOTHING",
        [member_id],
    )
    await sql.execute(
        "INSERT INTO ledger_account (key, kind, member_id, balance) VALUES"
        " ($1, 'AVAILABLE', $3, 0), ($2, 'PENDING', $3, 0) ON CONFLICT (key) DO NOTHING",
        [f"m:{member_id}:available", f"m:{member_id}:pending", member_id],
    )


async def counted_tier_points(state: State, since: datetime | None, now: datetime) -> int:
    """The member's counted tier points now, recounted once they may have gone stale."""
    if state.tier_points_until is not None and now >= state.tier_points_until:
        total, until = await recount(state.member_id, since)
        state.tier_points, state.tier_points_until = total, until
        state.touch()
    return max(0, state.tier_points)


async def recount(member_id: int, since: datetime | None) -> tuple[int, datetime | None]:
    """(sum, when the oldest counted entry leaves the window) of the member's tier points."""
    if since is None:
        found = await sql.row(
            "SELECT COALESCE(SUM(points), 0) AS total FROM tier_point_entry WHERE member_id = $1",
            [member_id],
        )
        return int(found["total"]) if found else 0, None
    found = await sql.row(
        "SELECT COALESCE(SUM(points), 0) AS total, MIN(earned_at) AS oldest"
        " FROM tier_point_entry WHERE member_id = $1 AND earned_at > $2",
        [member_id, since],
    )
    assert found is not None
    oldest = sql.decode_datetime(found["oldest"])
    until = oldest + timedelta(days=ROLLING_DAYS) if oldest is not None else None
    return int(found["total"]), until


class StateWrites(Buffer):
    """Every state row a unit changed, written back in one statement."""

    order: ClassVar[int] = 78  # before messages, which quote the tier

    def __init__(self) -> None:
        self.states: list[State] = []

    async def flush(self) -> list[sql.Statement] | None:
        states = [s for s in self.states if s.dirty]
        for s in states:
            s.dirty = False
        if not states:
            return None
        source, params = sql.values(
            [
                ("member_id", "int"),
                ("lifetime", "int"),
                ("tier_points", "int"),
                ("tier_points_until", "timestamp"),
                ("tier_code", "text"),
                ("grace_until", "timestamp"),
                ("promoted_by_order", "text"),
                ("tier_before", "text"),
                ("tier_changed_at", "timestamp"),
            ],
            [
                (
                    s.member_id,
                    s.lifetime,
                    s.tier_points,
                    s.tier_points_until,
                    s.tier_code,
                    s.grace_until,
                    s.promoted_by_order,
                    s.tier_before,
                    s.tier_changed_at,
                )
                for s in states
            ],
            1,
        )
        return [
            (
                "UPDATE member_state SET lifetime = v.lifetime, tier_points = v.tier_points,"
                " tier_points_until = v.tier_points_until, tier_code = v.tier_code,"
                " grace_until = v.grace_until, promoted_by_order = v.promoted_by_order,"
                " tier_before = v.tier_before, tier_changed_at = v.tier_changed_at"
                f" FROM ({source}) AS v WHERE member_state.member_id = v.member_id",
                params,
            )
        ]
