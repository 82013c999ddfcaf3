"""Member care's fields of the Member type (card, city, consents, tier status, history, NPS).

`MemberCareFields` is a base of gql.schema.members.Member, so these fields live with the
rest of member care while Member stays one GraphQL type. Lists of members load consents,
tier status and NPS answers through per-request DataLoaders (a fixed number of queries
whatever the list's length); the history is one query per page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from core import validation
from core.errors import InvalidInput
from engage import care_history as feed
from engage import nps
from engage.care_history import CareEventKind
from gql.context import Info
from gql.permissions import IsStaff
from gql.types import PageInfo, from_row
from members import consents
from members.models import Member as MemberModel
from rewards.tiers import status as tier_status

strawberry.enum(consents.Channel, name="Channel")
strawberry.enum(CareEventKind, name="CareEventKind")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def loader(
    info: Info, name: str, fetch: Callable[[list[K]], Awaitable[dict[K, V]]]
) -> DataLoader[K, V]:
    """The request's DataLoader `name` (made on first use, in the request's loader set)."""
    extra = info.context.loaders.extra
    if name not in extra:

        async def load(keys: Sequence[K]) -> list[V]:
            found = await fetch(list(keys))
            return [found[k] for k in keys]

        extra[name] = DataLoader(load_fn=load)
    return extra[name]  # type: ignore[no-any-return]


@strawberry.type
class ChannelConsent:
    channel: consents.Channel
    granted: bool
    updated_at: datetime | None


@strawberry.type
class TierStatus:
    at_risk: bool = strawberry.field(
        description="True when, at reviewAt, the member's tier points would not keep the "
        "current tier."
    )
    points_to_keep: int = strawberry.field(
        description="Tier points still needed before reviewAt to keep the current tier; "
        "0 when safe."
    )
    review_at: datetime | None = strawberry.field(
        description="When the tier is next reviewed: the end of grace, or when the counted "
        "window moves past points."
    )


@strawberry.type
class NpsResponse:
    score: int
    comment: str | None
    created_at: datetime


@strawberry.type
class CareEvent:
    kind: CareEventKind
    at: datetime
    summary: str = strawberry.field(
        description="One line a care agent reads, in the program's language."
    )
    data: JSON | None = strawberry.field(
        description="The facts behind it: order id and amount, points, voucher code, channel ..."
    )


@strawberry.type
class CareEventEdge:
    cursor: str
    node: CareEvent


@strawberry.type
class CareEventConnection:
    edges: list[CareEventEdge]
    page_info: PageInfo


@strawberry.type
class MemberCareFields:
    model: strawberry.Private[MemberModel]

    def _card_code(self) -> str:
        # Only an erased member has none, and no lookup returns an erased member.
        return self.model.card_code or ""

    card_code: str = strawberry.field(
        resolver=_card_code,
        description="Card number shown as a QR code in the app and scanned at the till: "
        "12 digits, the last a Luhn check digit.",
    )
    city: str | None

    @strawberry.field(
        description="One entry per channel; a channel never set reads granted false (PUSH: true)."
    )
    async def consents(self, info: Info) -> list[ChannelConsent]:
        found = await loader(info, "care.consents", consents.of_members).load(self.model.id)
        return [from_row(ChannelConsent, c) for c in found]

    @strawberry.field
    async def tier_status(self, info: Info) -> TierStatus:
        s = await loader(info, "care.tier_status", tier_status.standings).load(self.model.id)
        return from_row(TierStatus, s)

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Admin or integration: everything that happened with the member, newest first.",
    )
    async def care_history(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        kinds: list[CareEventKind] | None = None,
    ) -> CareEventConnection:
        page = await feed.page(self.model.id, first, after, kinds)
        edges = [
            CareEventEdge(
                cursor=e.cursor,
                node=CareEvent(kind=e.kind, at=e.at, summary=e.summary, data=JSON(e.data)),
            )
            for e in page.events
        ]
        return CareEventConnection(
            edges=edges,
            page_info=PageInfo.of(edges, page.has_next),
        )

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Admin or integration: the member's NPS answers with comments, newest first.",
    )
    async def nps_responses(self, info: Info, first: int = 20) -> list[NpsResponse]:
        if not 0 <= first <= validation.MAX_LIST:
            raise InvalidInput(f"first must be 0..{validation.MAX_LIST}", "first")
        found = await loader(info, "care.nps", nps.answers_of).load(self.model.id)
        return [from_row(NpsResponse, a) for a in found[:first]]
