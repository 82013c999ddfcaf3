"""The per-request (or per-socket) context: who is calling, and one DataLoader set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from core.security import ANONYMOUS, Viewer
from core.settings import Settings
from gql.loaders import Loaders
from members.models import Member
from rewards import standing
from rewards.standing import Standing


@dataclass
class Context:
    settings: Settings
    viewer: Viewer = ANONYMOUS
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    # Set by the graphql-transport-ws handler from connection_init.
    connection_params: dict[str, Any] | None = None
    # Why a credential was refused, reported by the permission that needed it.
    auth_error: str | None = None
    # The caller's address (rate limits of anonymous callers and unknown credentials).
    client: str | None = None
    # True when the credential's look-up was taken from the address's rate limit.
    lookup_charged: bool = False
    _me: asyncio.Future[tuple[Member, Standing] | None] | None = None

    @property
    def member_id(self) -> int:
        """The calling member's id, in a field whose permission (IsMember) admits members only."""
        member_id = self.viewer.member_id
        assert member_id is not None, "IsMember guarantees a member"
        return member_id

    async def me(self) -> tuple[Member, Standing] | None:
        """The member calling and their standing: ONE read per request, however many fields
        (`me`, `myMissions` ...) ask for it at once; also primes the loaders."""
        if self._me is None:
            self._me = asyncio.get_running_loop().create_future()
            try:
                found = await standing.member_with_standing(self.viewer.member_id or 0)
            except BaseException as exc:
                self._me.set_exception(exc)
                raise
            if found is not None:
                member, its_standing = found
                self.loaders.member.prime(member.id, member)
                self.loaders.standing.prime(member.id, its_standing)
            self._me.set_result(found)
        return await asyncio.shield(self._me)


Info = StrawberryInfo[Context, None]
