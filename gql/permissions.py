"""Field permissions by role. A refusal is a top-level error with extensions.code
UNAUTHENTICATED (no credential) or FORBIDDEN (wrong role).

Each class names the roles it lets through (`roles`; None = anonymous callers), which
`document_roles` writes into the description of every root field ("Roles: ADMIN."), so
clients and the authorization matrix (tests/gql/test_authorization_matrix.py) read the
role of a field from introspection.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType
from strawberry.permission import BasePermission

from core.errors import Forbidden, Unauthenticated
from core.security import Role
from gql.context import Info

ANYONE: tuple[Role | None, ...] = (Role.ADMIN, Role.INTEGRATION, Role.MEMBER, None)


def _require(info: Info, *roles: Role) -> bool:
    viewer = info.context.viewer
    if viewer.role is None:
        raise Unauthenticated(info.context.auth_error or "sign in with an API key or member token")
    if viewer.role not in roles:
        raise Forbidden(f"this field is for {' or '.join(r.value.lower() for r in roles)} callers")
    return True


class IsAdmin(BasePermission):
    message = "admin only"
    roles: tuple[Role | None, ...] = (Role.ADMIN,)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN)


class IsStaff(BasePermission):
    """Admin or integration (the shop's back office)."""

    message = "admin or integration only"
    roles: tuple[Role | None, ...] = (Role.ADMIN, Role.INTEGRATION)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN, Role.INTEGRATION)


class IsMember(BasePermission):
    message = "member only"
    roles: tuple[Role | None, ...] = (Role.MEMBER,)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.MEMBER)


class IsMemberOrAdmin(BasePermission):
    """A member (for their own data) or an admin; not the integration key."""

    message = "member or admin only"
    roles: tuple[Role | None, ...] = (Role.MEMBER, Role.ADMIN)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.MEMBER, Role.ADMIN)


class IsSignedIn(BasePermission):
    message = "sign in first"
    roles: tuple[Role | None, ...] = (Role.ADMIN, Role.INTEGRATION, Role.MEMBER)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return _require(info, Role.ADMIN, Role.INTEGRATION, Role.MEMBER)


class ValidCredential(BasePermission):
    """Anyone, but a credential that was sent must be valid (no silent anonymous fallback)."""

    message = "invalid credential"
    roles: tuple[Role | None, ...] = ANYONE

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.auth_error:
            raise Unauthenticated(info.context.auth_error)
        return True


def roles_of(permission_classes: list[type[BasePermission]]) -> tuple[Role | None, ...]:
    """Who passes every one of these permission classes (all classes must agree)."""
    allowed = list(ANYONE)
    for permission in permission_classes:
        allowed = [r for r in allowed if r in getattr(permission, "roles", ())]
    return tuple(allowed)


def role_line(roles: tuple[Role | None, ...]) -> str:
    names = ["anonymous" if r is None else r.value for r in roles]
    return f"Roles: {', '.join(names) if names else 'none'}."


def document_roles(schema: Any) -> None:
    """Append "Roles: ..." to the description of every root field of `schema` (a strawberry
    Schema) that has permission classes; a root field without any is left undocumented,
    which the authorization matrix refuses."""
    for root in (
        schema._schema.query_type,
        schema._schema.mutation_type,
        schema._schema.subscription_type,
    ):
        if not isinstance(root, GraphQLObjectType):
            continue
        for field in root.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            classes = getattr(definition, "permission_classes", None)
            if not classes:
                continue
            line = role_line(roles_of(classes))
            if line not in (field.description or ""):
                field.description = f"{field.description}\n\n{line}" if field.description else line
