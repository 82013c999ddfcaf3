"""Message templates: the words of every message, per key and channel, with placeholders.

A template is a title and a body for one key on one channel. The keys of transactional
messages (TRANSACTIONAL) each have a built-in Vietnamese text on PUSH (the inbox and the
push); an admin overrides it with `upsert`, and a template of such a key on SMS, EMAIL or
ZALO makes the message go out on that channel too (to members who consented). Any other
key is a campaign's own (createNotificationCampaign(templateKey: ...)).

Placeholders are written in braces; their values come already worded the Vietnamese way
(engage/wording.py: 345.000 ₫, 1.250 điểm, 29/11/2026):

    {displayName}    the member's name             {pointsBalance}  spendable points now
    {tierName}       the tier (the new one for tier.up, else the member's)
    {points}         the message's points (tier points to keep, points expiring ...)
    {voucherCode}    the voucher's code            {expiresOn}      the day it ends
    {missionName}    the completed mission         {amount}         an amount of money
    {link}           a tracked link to the message's target (engage/links.py)

A value a message does not have is written as nothing. Templates are definitions: an
upsert bumps the definitions version and every process reads them from its snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core import clock, definitions, sql, validation
from core.errors import InvalidInput
from core.events import unit_of_work
from engage.models import MessageTemplate, NotificationKind
from members.consents import Channel

PLACEHOLDERS = (
    "displayName",
    "points",
    "pointsBalance",
    "tierName",
    "voucherCode",
    "expiresOn",
    "missionName",
    "amount",
    "link",
)
# What the member's own data fills in (the rest comes with the message).
MEMBER_PLACEHOLDERS = frozenset({"displayName", "pointsBalance", "tierName"})
# The member's values a write itself may change (a message must see the write's own).
STATE_PLACEHOLDERS = frozenset({"pointsBalance", "tierName"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")

TRANSACTIONAL: dict[str, NotificationKind] = {
    "welcome": NotificationKind.WELCOME,
    "birthday": NotificationKind.BIRTHDAY,
    "tier.up": NotificationKind.TIER_UP,
    "tier.at_risk": NotificationKind.TIER_AT_RISK,
    "mission.completed": NotificationKind.MISSION_COMPLETED,
    "points.expiring": NotificationKind.POINTS_EXPIRING,
    "voucher.expiring": NotificationKind.VOUCHER_EXPIRING,
}


KEY_OF: dict[NotificationKind, str] = {kind: key for key, kind in TRANSACTIONAL.items()}


@dataclass(frozen=True)
class Template:
    key: str
    channel: Channel
    title: str | None
    body: str
    built_in: bool = False
    updated_at: datetime | None = None

    @property
    def placeholders(self) -> set[str]:
        return names_in(self.title or "") | names_in(self.body)


def _built_in(key: str, title: str, body: str) -> Template:
    return Template(key, Channel.PUSH, title, body, built_in=True)


BUILT_IN: dict[str, Template] = {
    t.key: t
    for t in (
        _built_in(
            "welcome",
            "Chào mừng {displayName}!",
            "Cảm ơn bạn đã tham gia chương trình thành viên. Mỗi đơn hàng đều được tích điểm"
            " để đổi lấy ưu đãi dành riêng cho bạn.",
        ),
        _built_in(
            "birthday",
            "Chúc mừng sinh nhật {displayName}!",
            "Chúc bạn tuổi mới thật nhiều niềm vui. Quà sinh nhật đang chờ bạn trong ứng dụng.",
        ),
        _built_in(
            "tier.up",
            "Chúc mừng bạn lên hạng {tierName}",
            "{displayName} ơi, bạn đã lên hạng {tierName}. Khám phá ngay những ưu đãi dành"
            " riêng cho hạng mới!",
        ),
        _built_in(
            "tier.at_risk",
            "Giữ hạng {tierName}",
            "Tích thêm {points} hạng (mua sắm khoảng {amount}) trước ngày {expiresOn} để giữ"
            " hạng {tierName}.",
        ),
        _built_in(
            "mission.completed",
            "Hoàn thành nhiệm vụ",
            "Chúc mừng {displayName}, bạn đã hoàn thành nhiệm vụ “{missionName}”.",
        ),
        _built_in(
            "points.expiring",
            "Điểm sắp hết hạn",
            "{displayName} ơi, {points} của bạn sẽ hết hạn vào ngày {expiresOn}. Dùng ngay kẻo lỡ!",
        ),
        _built_in(
            "voucher.expiring",
            "Voucher sắp hết hạn",
            "Voucher {voucherCode} của bạn sẽ hết hạn vào ngày {expiresOn}. Dùng ngay nhé!",
        ),
    )
}

Templates = Mapping[tuple[str, Channel], Template]


# ----------------------------------------------------------------------- placeholders


def names_in(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def check(text: str, field: str) -> str:
    """INVALID_INPUT naming `field` when `text` holds a placeholder that is not known."""
    unknown = sorted(names_in(text) - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise InvalidInput(f"unknown placeholder {{{unknown[0]}}}; known: {known}", field)
    return text


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known placeholder replaced by its value (nothing when it has none)."""
    if "{" not in text:
        return text
    return _PLACEHOLDER.sub(
        lambda m: values.get(m.group(1), "") if m.group(1) in PLACEHOLDERS else m.group(0), text
    )


# ----------------------------------------------------------------------- reading


async def load_definitions() -> dict[tuple[str, Channel], Template]:
    """The snapshot's part: the admins' templates by (key, channel)."""
    return {
        (row.key, Channel(row.channel)): Template(
            row.key, Channel(row.channel), row.title, row.body, updated_at=row.updated_at
        )
        for row in await MessageTemplate.all()
    }


async def stored() -> Templates:
    return (await definitions.get())["message_templates"]  # type: ignore[no-any-return]


async def find(key: str, channel: Channel) -> Template | None:
    """The template that writes `key` on `channel`: the admin's, else the built-in one."""
    found = (await stored()).get((key, channel))
    if found is None and channel is Channel.PUSH:
        return BUILT_IN.get(key)
    return found


async def channels_for(key: str) -> list[Channel]:
    """The channels a message of `key` goes out on: PUSH always (built in), and every
    other channel an admin wrote a template of it for."""
    mine = await stored()
    return [c for c in Channel if c is Channel.PUSH or (key, c) in mine]


async def all_templates() -> list[Template]:
    """Every template in force, built-in ones included, by key and channel."""
    found: dict[tuple[str, Channel], Template] = {(t.key, t.channel): t for t in BUILT_IN.values()}
    found.update(await stored())
    order = list(Channel)
    return sorted(found.values(), key=lambda t: (t.key, order.index(t.channel)))


# ----------------------------------------------------------------------- writing


@dataclass
class TemplateInput:
    key: str
    channel: Channel
    title: str | None
    body: str


def validate(data: TemplateInput) -> TemplateInput:
    key = data.key.strip()
    if not _KEY.match(key):
        raise InvalidInput(
            "key must be 1..64 lowercase letters, digits or . _ : - (e.g. tier.up)", "key"
        )
    title = data.title.strip() if data.title is not None else None
    if title:
        title = check(validation.text(title, "title", max_len=100), "title")
    elif data.channel is Channel.EMAIL:
        raise InvalidInput("an email needs a title (its subject)", "title")
    body = check(validation.text(data.body, "body", max_len=1000), "body")
    return TemplateInput(key, data.channel, title or None, body)


async def upsert(data: TemplateInput) -> Template:
    """Write the template of (key, channel), replacing the one there (or the built-in)."""
    data = validate(data)
    now = clock.now()
    async with unit_of_work():
        await sql.execute(
            "INSERT INTO message_template (key, channel, title, body, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key, channel) DO UPDATE"
            " SET title = excluded.title, body = excluded.body, updated_at = excluded.updated_at",
            [data.key, data.channel.value, data.title, data.body, now],
        )
        await definitions.changed()
    return Template(data.key, data.channel, data.title, data.body, updated_at=now)
