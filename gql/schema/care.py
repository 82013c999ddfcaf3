"""Member care: the card at the till, profile edits, consent, export and erasure.

The Member type's care fields (cardCode, city, consents, tierStatus, careHistory,
npsResponses) are in gql.schema.care_member.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.scalars import JSON

from engage import erasure, member_export
from gql.context import Info
from gql.permissions import IsAdmin, IsMemberOrAdmin, IsSignedIn, IsStaff
from gql.schema.members import Gender, Member, MemberPayload
from gql.types import Payload, from_row, mutation
from members import cards, profile
from members import consents as consent_service


def _role(info: Info) -> str:
    role = info.context.viewer.role
    assert role is not None, "a permission class admitted the caller"
    return role.value


@strawberry.input
class UpdateMemberInput:
    member_external_id: str | None = strawberry.field(
        default=None,
        description="Staff name the member; with a member token omit it (members edit their "
        "own profile).",
    )
    display_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    city: str | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        """The fields given: omitted ones are left out, an explicit null clears."""
        given = {name: getattr(self, name) for name in profile.FIELDS}
        found = {k: v for k, v in given.items() if v is not strawberry.UNSET}
        if isinstance(found.get("gender"), Gender):
            found["gender"] = found["gender"].value
        return found


@strawberry.input
class ConsentInput:
    channel: consent_service.Channel
    granted: bool


@strawberry.type
class MemberErasurePayload(Payload):
    erased: bool = strawberry.field(
        default=False,
        description="Personal data removed; postings, orders and aggregates kept under a "
        "pseudonym.",
    )


@strawberry.type
class MemberExportPayload(Payload):
    data: JSON | None = strawberry.field(
        default=None, description="Everything held about the member, as one JSON document."
    )


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsStaff],
        description="Admin or integration: the member whose card was scanned.",
    )
    async def member_by_card(self, info: Info, card_code: str) -> Member | None:
        found = await cards.find_by_card(card_code)
        return from_row(Member, found)


@strawberry.type
class Mutation:
    @mutation(IsSignedIn, description="Member (own profile) or staff (memberExternalId).")
    async def update_member(self, info: Info, input: UpdateMemberInput) -> MemberPayload:
        member = await profile.update_member(
            info.context.viewer.member_id, input.member_external_id, input.changes(), _role(info)
        )
        return MemberPayload(member=from_row(Member, member))

    @mutation(IsSignedIn, description="Member (own) or staff (memberExternalId).")
    async def set_consents(
        self, info: Info, consents: list[ConsentInput], member_external_id: str | None = None
    ) -> MemberPayload:
        answers = [(a.channel, a.granted) for a in consents]
        member = await consent_service.answer(
            info.context.viewer.member_id, member_external_id, answers, _role(info)
        )
        return MemberPayload(member=from_row(Member, member))

    @mutation(IsAdmin, description="Admin.")
    async def erase_member(self, info: Info, member_external_id: str) -> MemberErasurePayload:
        await erasure.erase(member_external_id, _role(info))
        return MemberErasurePayload(erased=True)

    @mutation(IsMemberOrAdmin, description="Member (own) or admin.")
    async def export_member_data(
        self, info: Info, member_external_id: str | None = None
    ) -> MemberExportPayload:
        data = await member_export.export_for(info.context.viewer.member_id, member_external_id)
        return MemberExportPayload(data=JSON(data))
