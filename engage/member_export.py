"""Everything held about one member, as one JSON document (Decree 13/2023: the right to access).

Sections: profile, consents (now, and every change), profile changes, points (balances and
every ledger entry), tier (now, and every change), orders with their refunds, vouchers,
missions, badges, stamp cards, spins, tracked actions, messages (the inbox, and each
channel's deliveries) and NPS answers. Other members' personal data is left out:
referrals are counted, not named. Values are JSON-safe: amounts as decimal strings,
instants as ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core import clock
from engage.models import MessageDelivery, Notification, NpsResponse
from game.models import Action, MemberStampCard, MissionProgress
from members import consents, service
from members.models import ConsentChange, Member, ProfileChange, TierChange
from rewards.badges.models import BadgeAward
from rewards.ledger import service as ledger
from rewards.ledger.models import Posting
from rewards.orders.models import Order, Refund
from rewards.referrals import Referral
from rewards.spin_wheel.models import SpinResult
from rewards.tiers import service as tiers
from rewards.vouchers.models import Voucher

FORMAT_VERSION = 1


def _safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{_camel(k): _safe(v) for k, v in row.items()} for row in rows]


async def export_for(viewer_member_id: int | None, external_id: str | None) -> dict[str, Any]:
    """exportMemberData: a member's own document, or the one an admin names."""
    return await export(await service.acting_on(viewer_member_id, external_id))


async def export(member: Member) -> dict[str, Any]:
    """The member's document; `member` is a live (not erased) member."""
    m = member.id
    referrer = await Member.get_or_none(id=member.referred_by_id) if member.referred_by_id else None
    status = await tiers.status(m)
    balance = (await ledger.balances([m])).get(m, ledger.Balances())
    orders = (
        await Order.filter(member_id=m)
        .order_by("occurred_at", "id")
        .values(
            "id",
            "order_id",
            "amount",
            "refunded_amount",
            "status",
            "occurred_at",
            "recorded_at",
            "channel",
            "points_earned",
            "tier_points_earned",
            "points_reversed",
            "tier_points_reversed",
        )
    )
    refunds = (
        await Refund.filter(order__member_id=m)
        .order_by("created_at", "id")
        .values(
            "order_id",
            "refund_id",
            "amount",
            "points_reversed",
            "tier_points_reversed",
            "created_at",
        )
    )
    by_order: dict[int, list[dict[str, Any]]] = {}
    for refund in refunds:
        by_order.setdefault(refund.pop("order_id"), []).append(refund)
    for order in orders:
        order["refunds"] = _rows(by_order.get(order.pop("id"), []))
    return {
        "formatVersion": FORMAT_VERSION,
        "exportedAt": clock.now().isoformat(),
        "profile": {
            "id": str(m),
            "externalId": member.external_id,
            "displayName": member.display_name,
            "phone": member.phone,
            "email": member.email,
            "birthday": _safe(member.birthday),
            "gender": member.gender,
            "city": member.city,
            "tags": list(member.tags or []),
            "cardCode": member.card_code,
            "referralCode": member.referral_code,
            "referredByExternalId": referrer.external_id if referrer else None,
            "enrolledAt": _safe(member.enrolled_at),
            "leaderboardHidden": member.leaderboard_hidden,
        },
        "consents": [
            {
                "channel": c.channel.value,
                "granted": c.granted,
                "updatedAt": _safe(c.updated_at),
            }
            for c in (await consents.of_members([m]))[m]
        ],
        "consentChanges": _rows(
            await ConsentChange.filter(member_id=m)
            .order_by("changed_at", "id")
            .values("channel", "granted", "changed_at", "actor")
        ),
        "profileChanges": _rows(
            await ProfileChange.filter(member_id=m)
            .order_by("changed_at", "id")
            .values("changed_at", "actor", "names", "diff")
        ),
        "points": {
            "available": balance.available,
            "pending": balance.pending,
            "lifetime": balance.lifetime,
            "expiringSoon": balance.expiring_soon,
        },
        "ledgerEntries": _rows(
            await Posting.filter(member_id=m)
            .order_by("id")
            .values(
                "id",
                "reason",
                "delta",
                "description",
                "order_id",
                "internal",
                "created_at",
                "expires_at",
            )
        ),
        "tier": {
            "code": status.tier.code if status.tier else None,
            "name": status.tier.name if status.tier else None,
            "tierPoints": status.tier_points,
            "graceUntil": _safe(status.grace_until),
        },
        "tierChanges": _rows(
            await TierChange.filter(member_id=m)
            .order_by("changed_at", "id")
            .values("from_code", "to_code", "changed_at")
        ),
        "orders": _rows(orders),
        "vouchers": _rows(
            await Voucher.filter(member_id=m)
            .order_by("claimed_at", "id")
            .values(
                "code",
                "offer__name",
                "source",
                "points_spent",
                "status",
                "claimed_at",
                "expires_at",
                "redeemed_at",
                "order_id",
                "discount",
            )
        ),
        "missions": _rows(
            await MissionProgress.filter(member_id=m)
            .order_by("id")
            .values(
                "mission_id",
                "mission__title",
                "period_key",
                "progress",
                "times_completed",
                "times_claimed",
                "completed_at",
            )
        ),
        "badges": _rows(
            await BadgeAward.filter(member_id=m)
            .order_by("awarded_at", "id")
            .values("badge__code", "badge__name", "source", "awarded_at")
        ),
        "stampCards": _rows(
            await MemberStampCard.filter(member_id=m)
            .order_by("id")
            .values("card_id", "card__name", "stamps", "completed_count", "updated_at")
        ),
        "spins": _rows(
            await SpinResult.filter(member_id=m)
            .order_by("created_at", "id")
            .values("wheel_id", "won", "points_spent", "voucher_code", "created_at")
        ),
        "actions": _rows(
            await Action.filter(member_id=m)
            .order_by("occurred_at", "id")
            .values("action_type", "value", "attributes", "occurred_at", "points_awarded")
        ),
        "messages": _rows(
            await Notification.filter(member_id=m)
            .order_by("created_at", "id")
            .values("kind", "title", "body", "deep_link", "created_at", "read_at")
        ),
        "deliveries": _rows(
            await MessageDelivery.filter(member_id=m)
            .order_by("id")
            .values("channel", "template_key", "title", "body", "status", "created_at", "sent_at")
        ),
        "nps": _rows(
            await NpsResponse.filter(member_id=m)
            .order_by("created_at", "id")
            .values("score", "comment", "created_at")
        ),
        "referrals": {"referred": await Referral.filter(referrer_id=m).count()},
    }
