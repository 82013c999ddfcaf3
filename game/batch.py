"""Batches of tracked actions (trackActions, `loyalty import`): one outcome per action.

Each action is checked, admitted and applied exactly as a single trackAction
(game/actions.py), with its own result: a refused action writes nothing and does not stop
the others; a repeated idempotency key answers the stored result (duplicate=True).

For speed, the batch's actions share units of work: a *group* holds at most one action
per member (so each lock's peeks, such as "was this key used?" and "how many earned
today?", are read fresh), and runs as ONE transaction: its members locked in one
statement (member_state.lock_many, each with its action's peeks), then at its end the
issuance shards its points come from (locked in key order, so concurrent batches do not
deadlock on them), and the group's writes and one outbox row (one statement on
PostgreSQL, one Redis round trip): three statements per group whatever its size. The
actions of one member go to successive groups in their order, so repeats inside a batch
behave like sequential calls. Members are locked in a fixed order (by external id) so
concurrent batches wait for each other rather than deadlock.

Every refusal of trackAction (unknown member or type, not the member's own, a key reused
with other content) is raised before the action buffers anything, so the group goes on
without it. Anything that goes wrong later (a balance past its limit, the issuance budget
exhausted at the end) rolls the group back, and its actions run again one unit each, which
is what trackAction does. A group runs under `retrying` like every write (deadlock
victims, short issuance shards); one that still fails that way runs one unit each too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import DomainError, InvalidInput
from core.events import unit_of_work
from game import actions
from game.actions import Report, Reported, TrackResult
from rewards import member_state
from rewards.ledger.retry import retryable, retrying

MAX_BATCH = 100

Outcome = TrackResult | DomainError


@dataclass(frozen=True)
class _Item:
    index: int
    report: Report
    member_id: int | None
    external_id: str | None

    @property
    def who(self) -> tuple[int | None, str | None]:
        return (self.member_id, None if self.member_id is not None else self.external_id)


class _Unsafe(Exception):
    """An action failed after it began buffering: the group must roll back."""


async def report_many(items: Sequence[Reported], *, caller_member_id: int | None) -> list[Outcome]:
    """trackActions: the outcome of each item, in order (see the module docstring).

    Staff name each item's member; a member reports their own clientReportable types only.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} actions per batch", "inputs")
    outcomes: list[Outcome | None] = [None] * len(items)
    admitted: list[_Item] = []
    for n, raw in enumerate(items):
        try:
            checked = actions.check_reported(raw, caller_member_id)
        except DomainError as refusal:
            outcomes[n] = refusal
            continue
        admitted.append(_Item(n, checked, caller_member_id, raw.member_external_id))
    by_member = caller_member_id is not None
    for group in groups(admitted):
        for index, outcome in (await _run(group, by_member)).items():
            outcomes[index] = outcome
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def groups(items: Sequence[_Item]) -> list[list[_Item]]:
    """Items in groups of at most one per member, each member's items in successive groups
    in their order; each group in lock order."""
    found: list[list[_Item]] = []
    last: dict[tuple[int | None, str | None], int] = {}
    for item in items:
        at = last.get(item.who, -1) + 1
        last[item.who] = at
        if at == len(found):
            found.append([])
        found[at].append(item)
    return [sorted(g, key=lambda i: (i.member_id or 0, i.external_id or "")) for g in found]


async def _run(group: list[_Item], by_member: bool) -> dict[int, Outcome]:
    if len(group) > 1:
        try:
            return await retrying(lambda: _together(group, by_member))
        except Exception as exc:
            # Rolled back whole: each action on its own below (it meets the same refusal,
            # or the same failure, as trackAction would).
            if not isinstance(exc, _Unsafe | DomainError) and not retryable(exc):
                raise
    outcomes: dict[int, Outcome] = {}
    for item in group:
        try:
            outcomes[item.index] = await actions.record(
                item.report,
                member_id=item.member_id,
                external_id=item.external_id,
                by_member=by_member,
            )
        except DomainError as refusal:
            outcomes[item.index] = refusal
    return outcomes


async def _together(group: list[_Item], by_member: bool) -> dict[int, Outcome]:
    """The group in one unit of work; refused actions are left out of it."""
    outcomes: dict[int, Outcome] = {}
    ready: list[tuple[_Item, actions.Prepared]] = []
    for item in group:
        try:
            ready.append((item, await actions.prepare(item.report, by_member)))
        except DomainError as refusal:  # occurredAt out of range
            outcomes[item.index] = refusal
    async with unit_of_work():
        locked = await member_state.lock_many(
            [actions.target(prepared, item.member_id, item.external_id) for item, prepared in ready]
        )
        for (item, prepared), state in zip(ready, locked, strict=True):
            if isinstance(state, DomainError):  # no such member
                outcomes[item.index] = state
                continue
            try:
                admitted = await actions.admit(
                    prepared, item.member_id, item.external_id, by_member, state
                )
            except DomainError as refusal:
                outcomes[item.index] = refusal
                continue
            if isinstance(admitted, TrackResult):
                outcomes[item.index] = admitted
                continue
            try:
                outcomes[item.index] = await admitted.apply()
            except DomainError as exc:
                raise _Unsafe(str(exc)) from exc
    return outcomes
