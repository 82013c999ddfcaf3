"""`loyalty import FILE.jsonl`: back-office backfills of orders and actions, idempotently.

One JSON object per line: `{"type": "action", ...}` with trackAction's input fields in
camelCase (memberExternalId, idempotencyKey, value, attributes, occurredAt), the action
type as `actionType` since the line's own `type` says what the line is; or
`{"type": "order", ...}` with recordOrder's (orderId, memberExternalId, amount,
occurredAt, channel). Lines are applied through the domain functions the API calls
(game.batch for actions, rewards.orders.service for orders), in chunks of CHUNK lines, in file
order; each is new, a duplicate (already recorded with the same content: re-importing a
file reports every line as a duplicate), or refused (bad JSON, bad fields, or what the API
would refuse), with its line number and reason. Progress goes to stderr, the summary to
stdout; the exit status is 1 when any line was refused.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from core.errors import DomainError, InvalidInput
from core.settings import Settings
from game import batch
from gql.errors import api_path
from rewards.orders import service as orders
from server.progress import Progress

CHUNK = batch.MAX_BATCH
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

ACTION_FIELDS = {"actionType", "idempotencyKey", "memberExternalId", "value", "attributes"}
ORDER_FIELDS = {"orderId", "memberExternalId", "amount", "channel"}


@dataclass
class Refusal:
    code: str
    message: str
    field: list[str] | None = None

    @classmethod
    def of(cls, error: DomainError, operation: str) -> Refusal:
        """A line's refusal, naming its field as the API does in `operation` (trackAction
        or recordOrder, whose input fields a line has)."""
        field = api_path(error.field, operation, {"input"})
        return cls(error.code.value, error.message, field)


@dataclass
class Line:
    number: int
    text: str
    kind: str = ""  # "action" or "order" once parsed
    fields: dict[str, Any] | None = None
    outcome: str = ""  # "new", "duplicate" or "refused"
    refusal: Refusal | None = None

    def refuse(self, refusal: Refusal) -> None:
        self.outcome, self.refusal = "refused", refusal


# -- parsing -------------------------------------------------------------------------------


def _text(fields: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required", f"input.{name}")
        return None
    if not isinstance(value, str) or _CONTROL.search(value):
        raise InvalidInput(f"{name} must be a string without control characters", f"input.{name}")
    return value


def _when(fields: dict[str, Any]) -> datetime | None:
    value = _text(fields, "occurredAt", required=False)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("occurredAt must be an ISO 8601 date-time", "input.occurredAt") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _unknown(fields: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(fields) - known - {"type", "occurredAt"})
    if extra:
        raise InvalidInput(f"unknown field {extra[0]!r}", f"input.{extra[0]}")


def _action(fields: dict[str, Any]) -> batch.Reported:
    """An action line: trackAction's input, its `type` given as `actionType` (the line's
    own `type` says what the line is)."""
    _unknown(fields, ACTION_FIELDS)
    value = fields.get("value", 1)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("value must be a number", "input.value")
    return batch.Reported(
        action_type=_text(fields, "actionType") or "",
        idempotency_key=_text(fields, "idempotencyKey") or "",
        member_external_id=_text(fields, "memberExternalId"),
        value=value,
        attributes=fields.get("attributes"),
        occurred_at=_when(fields),
    )


def _amount(fields: dict[str, Any]) -> Decimal:
    value = fields.get("amount")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput("amount must be a number or a decimal string", "input.amount")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput("amount must be a decimal number", "input.amount") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse(line: Line) -> None:
    """Fill in the line's kind and fields, or refuse it."""
    try:
        found = json.loads(line.text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        line.refuse(Refusal("INVALID_INPUT", f"not JSON: {exc.msg} (column {exc.colno})"))
        return
    except (ValueError, RecursionError) as exc:
        line.refuse(Refusal("INVALID_INPUT", f"not JSON: {str(exc)[:100]}"))
        return
    if not isinstance(found, dict) or found.get("type") not in ("action", "order"):
        line.refuse(
            Refusal("INVALID_INPUT", 'a line is an object with "type": "action" or "order"')
        )
        return
    line.kind, line.fields = found["type"], found


# -- applying ------------------------------------------------------------------------------


async def _actions(lines: list[Line]) -> None:
    reported: list[tuple[Line, batch.Reported]] = []
    for line in lines:
        assert line.fields is not None
        try:
            reported.append((line, _action(line.fields)))
        except DomainError as error:
            line.refuse(Refusal.of(error, "trackAction"))
    outcomes = await batch.report_many([r for _, r in reported], caller_member_id=None)
    for (line, _), outcome in zip(reported, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            line.refuse(Refusal.of(outcome, "trackAction"))
        else:
            line.outcome = "duplicate" if outcome.duplicate else "new"


async def _order(line: Line) -> None:
    fields = line.fields
    assert fields is not None
    try:
        _unknown(fields, ORDER_FIELDS)
        result = await orders.record_order(
            _text(fields, "orderId") or "",
            _text(fields, "memberExternalId") or "",
            _amount(fields),
            _when(fields),
            _text(fields, "channel", required=False),
        )
    except DomainError as error:
        line.refuse(Refusal.of(error, "recordOrder"))
        return
    line.outcome = "duplicate" if result.duplicate else "new"


async def apply(chunk: list[Line]) -> None:
    """Apply a chunk in file order: runs of actions as one batch, orders one by one."""
    run: list[Line] = []
    for line in [*chunk, None]:
        if line is not None and line.outcome:
            continue  # refused while parsing
        if line is not None and line.kind == "action":
            run.append(line)
            continue
        if run:
            await _actions(run)
            run = []
        if line is not None:
            await _order(line)


def _chunks(stream: TextIO) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        chunk.append(Line(number, text.rstrip("\n")))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _record(line: Line) -> str:
    refusal = line.refusal
    assert refusal is not None
    return json.dumps(
        {
            "line": line.number,
            "code": refusal.code,
            "field": ".".join(refusal.field) if refusal.field else None,
            "message": refusal.message,
            "text": line.text,
        },
        ensure_ascii=False,
    )


async def import_file(path: Path, errors: TextIO | None, progress: Progress) -> Counter[str]:
    """Apply every line of `path`; the count of each outcome (per kind, and in total)."""
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8", errors="replace") as stream:
        for chunk in _chunks(stream):
            for line in chunk:
                parse(line)
            await apply(chunk)
            for line in chunk:
                counts[line.outcome] += 1
                counts[f"{line.kind or 'unreadable'}:{line.outcome}"] += 1
                if line.refusal is not None and errors is not None:
                    errors.write(_record(line) + "\n")
            progress.advance(len(chunk))
    return counts


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the JSON Lines file (one order or action a line)")
    parser.add_argument(
        "--errors",
        type=Path,
        metavar="FILE",
        help="write each refused line to FILE as JSON (line, code, field, message, text)",
    )


def _count(path: Path) -> int | None:
    """The lines to import (blank ones aside), or None when there is no such file."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as stream:
        return sum(1 for text in stream if text.strip())


def _summary(path: Path, counts: Counter[str]) -> str:
    kinds = []
    for kind in ("order", "action"):
        parts = [f"{counts[f'{kind}:{o}']} {o}" for o in ("new", "duplicate", "refused")]
        if any(counts[f"{kind}:{o}"] for o in ("new", "duplicate", "refused")):
            kinds.append(f"{kind}s: {', '.join(parts)}")
    if counts["unreadable:refused"]:
        kinds.append(f"unreadable lines: {counts['unreadable:refused']} refused")
    total = sum(counts[o] for o in ("new", "duplicate", "refused"))
    head = (
        f"imported {path}: {total} lines, {counts['new']} new, {counts['duplicate']} duplicate,"
        f" {counts['refused']} refused"
    )
    return head + (f" ({'; '.join(kinds)})" if kinds else "")


async def import_lines(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    total = _count(path)
    if total is None:
        print(f"loyalty: {path}: no such file", file=sys.stderr)
        return 2
    errors = args.errors.open("w", encoding="utf-8") if args.errors else None
    try:
        with Progress(f"importing {path.name}", total=total, unit="line") as progress:
            counts = await import_file(path, errors, progress)
    finally:
        if errors is not None:
            errors.close()
    print(_summary(path, counts))
    if counts["refused"] and args.errors:
        print(f"refused lines written to {args.errors}")
    return 1 if counts["refused"] else 0
