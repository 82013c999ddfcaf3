"""Field permissions by role. A refusal is a top-level error with extensions.code
UNAUTHENTICATED (no credential) or FORBIDDEN (wrong role)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from core.errors import Forbidden, Unauthenticated
from core.security import Role
from gql.context import Info


def _require(info: Info, *roles: Role) -> bool:
    viewer = info.context.viewer
    if viewer.role is None:
        raise Unauthenticated(info.context.auth_error or "sign in with an API key or member token")
    if viewer.role not in roles:
        raise Forbidden(f"this field is for {' or '.join(r.value.lower() for r in roles)} callers")
    return True


class IsAdmin(BasePermission):
    message = "admin only"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN)


class IsStaff(BasePermission):
    """Admin or integration (the shop's back office)."""

    message = "admin or integration only"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN, Role.INTEGRATION)


class IsMember(BasePermission):
    message = "member only"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.MEMBER)


class IsSignedIn(BasePermission):
    message = "sign in first"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN, Role.INTEGRATION, Role.MEMBER)


class ValidCredential(BasePermission):
    """Anyone, but a credential that was sent must be valid (no silent anonymous fallback)."""

    message = "invalid credential"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.auth_error:
            raise Unauthenticated(info.context.auth_error)
        return True
