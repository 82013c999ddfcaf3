"""The per-request (or per-socket) context: who is calling, and one DataLoader set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from core.security import ANONYMOUS, Viewer
from core.settings import Settings
from gql.loaders import Loaders


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


Info = StrawberryInfo[Context, None]
