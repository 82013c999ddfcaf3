"""The care history: everything that happened with one member, newest first, one page per query.

Read from the tables that already record each fact (nothing is copied):

    ENROLLED          member.enrolled_at
    PROFILE_UPDATED   member_profile_change          (members.profile)
    CONSENT           member_consent_change          (members.consents)
    ORDER / REFUND    orders / order_refund
    POINTS            ledger_posting, not internal   (moves between the member's own
                                                     accounts are not history)
    TIER_CHANGED      member_tier_change             (written where tiers move)
    VOUCHER           voucher: claimed_at, and redeemed_at once used
    MISSION           mission_progress with a completion
    BADGE             badge_award
    MESSAGE           notification (the inbox)
    NPS               nps_response

A page is ONE statement: a UNION ALL of one SELECT per source (only the kinds asked for),
each narrowed to the member by an index, ordered and limited in SQL on (ts, src, rid)
descending, with a keyset cursor on the same triple. Every branch yields the same columns
(ts, src, rid; four texts, two integers, two amounts, a second instant) and the Python side
turns each row into a one-line Vietnamese summary and its facts as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from core import ids, validation
from core.errors import InvalidInput
from engage import sql, wording
from members.program import get_program


class CareEventKind(Enum):
    ENROLLED = "ENROLLED"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    CONSENT = "CONSENT"
    ORDER = "ORDER"
    REFUND = "REFUND"
    POINTS = "POINTS"
    TIER_CHANGED = "TIER_CHANGED"
    VOUCHER = "VOUCHER"
    MISSION = "MISSION"
    BADGE = "BADGE"
    MESSAGE = "MESSAGE"
    NPS = "NPS"


@dataclass(frozen=True)
class CareEvent:
    kind: CareEventKind
    at: datetime
    summary: str
    data: dict[str, Any]
    cursor: str


@dataclass(frozen=True)
class CarePage:
    events: list[CareEvent]
    has_next: bool


# --------------------------------------------------------------------------- the query

_COLUMNS = {
    "t1": "TEXT",
    "t2": "TEXT",
    "t3": "TEXT",
    "t4": "TEXT",
    "n1": "BIGINT",
    "n2": "BIGINT",
    "a1": "NUMERIC",
    "a2": "NUMERIC",
    "ts2": "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class _Source:
    kind: CareEventKind
    at: str
    rid: str
    body: str  # FROM ... WHERE <member column> = {member}
    columns: dict[str, str]

    def select(self, src: str, placeholder: str) -> str:
        # Typed NULLs: PostgreSQL needs one type per column across the UNION's branches.
        listed = ", ".join(
            f"{self.columns.get(name, f'CAST(NULL AS {kind})')} AS {name}"
            for name, kind in _COLUMNS.items()
        )
        body = self.body.format(member=placeholder)
        return f"SELECT '{src}' AS src, {self.at} AS ts, {self.rid} AS rid, {listed} {body}"


_SOURCES: dict[str, _Source] = {
    "ENROLLED": _Source(
        CareEventKind.ENROLLED,
        "m.enrolled_at",
        "m.id",
        "FROM member m LEFT JOIN member r ON r.id = m.referred_by_id WHERE m.id = {member}",
        {"t1": "r.external_id", "t2": "m.referral_code"},
    ),
    "PROFILE": _Source(
        CareEventKind.PROFILE_UPDATED,
        "p.changed_at",
        "p.id",
        "FROM member_profile_change p WHERE p.member_id = {member}",
        {"t1": "p.actor", "t2": "CAST(p.names AS TEXT)", "t3": "CAST(p.diff AS TEXT)"},
    ),
    "CONSENT": _Source(
        CareEventKind.CONSENT,
        "c.changed_at",
        "c.id",
        "FROM member_consent_change c WHERE c.member_id = {member}",
        {"t1": "c.channel", "t2": "c.actor", "n1": "CASE WHEN c.granted THEN 1 ELSE 0 END"},
    ),
    "ORDER": _Source(
        CareEventKind.ORDER,
        "o.occurred_at",
        "o.id",
        "FROM orders o WHERE o.member_id = {member}",
        {
            "t1": "o.order_id",
            "t2": "o.status",
            "t3": "o.channel",
            "n1": "o.points_earned",
            "n2": "o.tier_points_earned",
            "a1": "o.amount",
            "a2": "o.refunded_amount",
        },
    ),
    "REFUND": _Source(
        CareEventKind.REFUND,
        "f.created_at",
        "f.id",
        "FROM order_refund f JOIN orders o ON o.id = f.order_id WHERE o.member_id = {member}",
        {
            "t1": "o.order_id",
            "t2": "f.refund_id",
            "n1": "f.points_reversed",
            "n2": "f.tier_points_reversed",
            "a1": "f.amount",
            "a2": "o.amount",
        },
    ),
    "POINTS": _Source(
        CareEventKind.POINTS,
        "p.created_at",
        "p.id",
        "FROM ledger_posting p WHERE p.member_id = {member} AND NOT p.internal",
        {
            "t1": "p.reason",
            "t2": "p.description",
            "t3": "p.order_id",
            "n1": "p.delta",
            "ts2": "p.expires_at",
        },
    ),
    "TIER": _Source(
        CareEventKind.TIER_CHANGED,
        "t.changed_at",
        "t.id",
        "FROM member_tier_change t LEFT JOIN tier a ON a.code = t.from_code"
        " LEFT JOIN tier b ON b.code = t.to_code WHERE t.member_id = {member}",
        {
            "t1": "t.from_code",
            "t2": "t.to_code",
            "t3": "a.name",
            "t4": "b.name",
            "n1": "a.threshold",
            "n2": "b.threshold",
        },
    ),
    "VOUCHER_CLAIMED": _Source(
        CareEventKind.VOUCHER,
        "v.claimed_at",
        "v.id",
        "FROM voucher v JOIN voucher_offer o ON o.id = v.offer_id WHERE v.member_id = {member}",
        {
            "t1": "v.code",
            "t2": "o.name",
            "t3": "v.source",
            "n1": "v.points_spent",
            "ts2": "v.expires_at",
        },
    ),
    "VOUCHER_USED": _Source(
        CareEventKind.VOUCHER,
        "v.redeemed_at",
        "v.id",
        "FROM voucher v JOIN voucher_offer o ON o.id = v.offer_id"
        " WHERE v.member_id = {member} AND v.redeemed_at IS NOT NULL",
        {
            "t1": "v.code",
            "t2": "o.name",
            "t3": "v.order_id",
            "a1": "v.discount",
            "a2": "v.order_amount",
        },
    ),
    "MISSION": _Source(
        CareEventKind.MISSION,
        "p.completed_at",
        "p.id",
        "FROM mission_progress p JOIN mission s ON s.id = p.mission_id"
        " WHERE p.member_id = {member} AND p.completed_at IS NOT NULL",
        {"t1": "s.title", "t2": "p.period_key", "n1": "p.times_completed", "n2": "s.id"},
    ),
    "BADGE": _Source(
        CareEventKind.BADGE,
        "w.awarded_at",
        "w.id",
        "FROM badge_award w JOIN badge b ON b.id = w.badge_id WHERE w.member_id = {member}",
        {"t1": "b.code", "t2": "b.name", "t3": "w.source"},
    ),
    "MESSAGE": _Source(
        CareEventKind.MESSAGE,
        "n.created_at",
        "n.id",
        "FROM notification n WHERE n.member_id = {member}",
        {"t1": "n.kind", "t2": "n.title", "t3": "n.body", "ts2": "n.read_at"},
    ),
    "NPS": _Source(
        CareEventKind.NPS,
        "r.created_at",
        "r.id",
        "FROM nps_response r WHERE r.member_id = {member}",
        {"t1": "r.comment", "n1": "r.score"},
    ),
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _utc(value: Any) -> datetime | None:
    """An instant as read back: PostgreSQL gives datetimes, SQLite ISO text."""
    if value is None:
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _cursor(at: datetime, src: str, rid: int) -> str:
    return ids.encode_cursor((at - _EPOCH) // _MICROSECOND, src, rid)


def _after(cursor: str) -> tuple[datetime, str, int]:
    try:
        micros, src, rid = ids.decode_cursor(cursor)
        if src not in _SOURCES:
            raise ValueError(src)
        return _EPOCH + int(micros) * _MICROSECOND, src, int(rid)
    except ValueError as exc:
        raise InvalidInput("after is not a cursor from this history", "after") from exc


def statement(
    member_id: int, kinds: set[CareEventKind] | None, after: str | None, limit: int
) -> tuple[str, list[Any]]:
    """The page's one SQL statement ($n placeholders, each used once) and its values."""
    values: list[Any] = []

    def param(value: Any) -> str:
        values.append(value)
        return f"${len(values)}"

    wanted = [s for s, source in _SOURCES.items() if kinds is None or source.kind in kinds]
    union = " UNION ALL ".join(_SOURCES[s].select(s, param(member_id)) for s in wanted)
    where = ""
    if after is not None:
        at, src, rid = _after(after)
        where = (
            f" WHERE h.ts < {param(at)} OR (h.ts = {param(at)} AND (h.src < {param(src)}"
            f" OR (h.src = {param(src)} AND h.rid < {param(rid)})))"
        )
    query = (
        f"SELECT * FROM ({union}) h{where} ORDER BY h.ts DESC, h.src DESC, h.rid DESC"
        f" LIMIT {int(limit)}"
    )
    return query, values


async def page(
    member_id: int, first: int, after: str | None, kinds: list[CareEventKind] | None = None
) -> CarePage:
    """The member's care history, newest first: `first` events after the cursor `after`."""
    if not 0 <= first <= validation.MAX_LIST:
        raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
    if kinds is not None and not kinds:
        return CarePage(events=[], has_next=False)
    query, values = statement(member_id, set(kinds) if kinds else None, after, first + 1)
    rows = await sql.rows(query, values)
    zone = (await get_program()).timezone
    events = [_event(row, zone) for row in rows[:first]]
    return CarePage(events=events, has_next=len(rows) > first)


# --------------------------------------------------------------------------- the words


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _money(value: Any) -> str | None:
    """Decimal amounts as JSON strings, so no float rounds them."""
    amount = _amount(value)
    return None if amount is None else str(amount)


@dataclass(frozen=True)
class _Row:
    raw: dict[str, Any]
    zone: str

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]


def _enrolled(r: _Row) -> tuple[str, dict[str, Any]]:
    by = r["t1"]
    summary = "Tham gia chương trình thành viên" + (f" (được giới thiệu bởi {by})" if by else "")
    return summary, {"referralCode": r["t2"], "referredByExternalId": by}


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "(trống)"
    if name == "birthday":
        return wording.day(datetime.fromisoformat(str(value)).date())
    if name == "gender":
        return wording.GENDERS.get(str(value), str(value))
    return str(value)


def _profile(r: _Row) -> tuple[str, dict[str, Any]]:
    names: list[str] = json.loads(r["t2"] or "[]")
    diff: dict[str, dict[str, Any]] | None = json.loads(r["t3"]) if r["t3"] else None
    parts = []
    for name in names:
        label = wording.PROFILE_FIELDS.get(name, name)
        if diff and name in diff:
            old, new = diff[name].get("old"), diff[name].get("new")
            label += f" {_shown(name, old)} → {_shown(name, new)}"
        parts.append(label)
    summary = f"Cập nhật hồ sơ: {'; '.join(parts)} (bởi {wording.actor(r['t1'])})"
    return summary, {"fields": names, "changes": diff, "by": r["t1"]}


def _consent(r: _Row) -> tuple[str, dict[str, Any]]:
    granted = bool(r["n1"])
    channel = wording.CHANNELS.get(r["t1"], r["t1"])
    verb = "Đồng ý nhận tin qua" if granted else "Từ chối nhận tin qua"
    summary = f"{verb} {channel} (bởi {wording.actor(r['t2'])})"
    return summary, {"channel": r["t1"], "granted": granted, "by": r["t2"]}


def _order(r: _Row) -> tuple[str, dict[str, Any]]:
    amount = _amount(r["a1"]) or Decimal(0)
    points = _int(r["n1"]) or 0
    summary = f"Đơn hàng {r['t1']}: {wording.money(amount)}, {wording.points(points, signed=True)}"
    if r["t2"] == "REFUNDED":
        summary += " (đã hoàn tiền toàn bộ)"
    elif r["t2"] == "PARTIALLY_REFUNDED":
        summary += f" (đã hoàn {wording.money(_amount(r['a2']) or 0)})"
    return summary, {
        "orderId": r["t1"],
        "amount": _money(r["a1"]),
        "refundedAmount": _money(r["a2"]),
        "status": r["t2"],
        "channel": r["t3"],
        "pointsEarned": points,
        "tierPointsEarned": _int(r["n2"]),
    }


def _refund(r: _Row) -> tuple[str, dict[str, Any]]:
    points = _int(r["n1"]) or 0
    summary = (
        f"Hoàn tiền đơn {r['t1']}: {wording.money(_amount(r['a1']) or 0)}, "
        f"{wording.points(-points, signed=True)}"
    )
    return summary, {
        "orderId": r["t1"],
        "refundId": r["t2"],
        "amount": _money(r["a1"]),
        "orderAmount": _money(r["a2"]),
        "pointsReversed": points,
        "tierPointsReversed": _int(r["n2"]),
    }


def _points(r: _Row) -> tuple[str, dict[str, Any]]:
    delta = _int(r["n1"]) or 0
    reason = _text(r["t1"])
    what = wording.REASONS.get(reason, reason.lower())
    if r["t3"]:
        what += f" {r['t3']}"
    summary = f"{wording.points(delta, signed=True)}: {what}"
    expires = _utc(r["ts2"])
    if expires is not None and delta > 0:
        summary += f", hết hạn {wording.local_day(expires, r.zone)}"
    return summary, {
        "points": delta,
        "reason": reason,
        "description": r["t2"],
        "orderId": r["t3"],
        "expiresAt": expires.isoformat() if expires else None,
    }


def _tier(r: _Row) -> tuple[str, dict[str, Any]]:
    before = r["t3"] or r["t1"]
    after = r["t4"] or r["t2"]
    low, high = _int(r["n1"]), _int(r["n2"])
    if after is None:
        verb = "Rời hạng"
    elif low is None or (high is not None and high > low):
        verb = "Lên hạng"
    else:
        verb = "Xuống hạng"
    summary = f"{verb} {after or before}" + (f" (từ {before})" if after and before else "")
    return summary, {"from": r["t1"], "to": r["t2"]}


def _voucher_claimed(r: _Row) -> tuple[str, dict[str, Any]]:
    spent = _int(r["n1"]) or 0
    summary = f"Nhận voucher “{r['t2']}” (mã {r['t1']})"
    if spent:
        summary += f", đổi {wording.points(spent)}"
    expires = _utc(r["ts2"])
    if expires is not None:
        summary += f", hạn dùng {wording.local_day(expires, r.zone)}"
    return summary, {
        "event": "CLAIMED",
        "code": r["t1"],
        "offer": r["t2"],
        "source": r["t3"],
        "pointsSpent": spent,
        "expiresAt": expires.isoformat() if expires else None,
    }


def _voucher_used(r: _Row) -> tuple[str, dict[str, Any]]:
    summary = f"Dùng voucher {r['t1']}"
    if r["t3"]:
        summary += f" cho đơn {r['t3']}"
    if r["a1"] is not None:
        summary += f", giảm {wording.money(_amount(r['a1']) or 0)}"
    return summary, {
        "event": "USED",
        "code": r["t1"],
        "offer": r["t2"],
        "orderId": r["t3"],
        "discount": _money(r["a1"]),
        "orderAmount": _money(r["a2"]),
    }


def _mission(r: _Row) -> tuple[str, dict[str, Any]]:
    times = _int(r["n1"]) or 1
    summary = f"Hoàn thành nhiệm vụ “{r['t1']}”" + (f" ({times} lần)" if times > 1 else "")
    return summary, {
        "missionId": str(r["n2"]),
        "title": r["t1"],
        "periodKey": r["t2"] or None,
        "timesCompleted": times,
    }


def _badge(r: _Row) -> tuple[str, dict[str, Any]]:
    return f"Nhận huy hiệu “{r['t2']}”", {"code": r["t1"], "name": r["t2"], "source": r["t3"]}


def _message(r: _Row) -> tuple[str, dict[str, Any]]:
    read = _utc(r["ts2"])
    summary = f"Đã gửi tin “{r['t2']}”" + (" (đã đọc)" if read else "")
    return summary, {
        "kind": r["t1"],
        "title": r["t2"],
        "body": r["t3"],
        "readAt": read.isoformat() if read else None,
    }


def _nps(r: _Row) -> tuple[str, dict[str, Any]]:
    score = _int(r["n1"]) or 0
    comment = r["t1"]
    summary = f"Chấm điểm NPS {score}/10" + (f": “{comment}”" if comment else "")
    return summary, {"score": score, "comment": comment}


_WORDS: dict[str, Callable[[_Row], tuple[str, dict[str, Any]]]] = {
    "ENROLLED": _enrolled,
    "PROFILE": _profile,
    "CONSENT": _consent,
    "ORDER": _order,
    "REFUND": _refund,
    "POINTS": _points,
    "TIER": _tier,
    "VOUCHER_CLAIMED": _voucher_claimed,
    "VOUCHER_USED": _voucher_used,
    "MISSION": _mission,
    "BADGE": _badge,
    "MESSAGE": _message,
    "NPS": _nps,
}


def _event(raw: dict[str, Any], zone: str) -> CareEvent:
    src = str(raw["src"])
    at = _utc(raw["ts"])
    assert at is not None
    summary, data = _WORDS[src](_Row(raw, zone))
    return CareEvent(
        kind=_SOURCES[src].kind,
        at=at,
        summary=summary,
        data=data,
        cursor=_cursor(at, src, int(raw["rid"])),
    )
