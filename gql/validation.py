"""Input checks at the API boundary, built once per schema and run before every resolver.

`install(schema)` walks every argument of every field of the served schema (input objects
and lists included) and, where a value needs checking, wraps the field's resolver with a
check precomputed for that field. A field added later is covered without code. The checks:

- String: at most the length of the column it maps to (DEFAULT_LENGTH, or TEXT_LENGTH for
  text columns, where it maps to none); no control characters but tab and newline; no lone
  surrogates (they cannot be stored, and PostgreSQL and SQLite disagree on NUL).
- ID: digits only, 1 .. the largest value of its column (32- or 64-bit); the one ID
  parser, `parse_id`, is also what resolvers use to read an ID.
- Cursors (`after`): decode to an id of the column the list is keyed by.
- Decimal: finite, within the column's digits, no more decimal places than it keeps (so
  "1e-30" is refused instead of becoming 0). Float fields stored as decimals likewise.
- BigInt: within ±(2^63 - 1). DateTime: within 2000-01-01 .. 2100-01-01.
- JSON: its strings checked as above, its numbers finite, nested at most JSON_DEPTH deep.

A refusal is INVALID_INPUT naming the field (e.g. ["input", "orderId"]) and never quotes
the value. A mutation answers with its payload's `errors`, other fields with a top-level
error; either way the resolver never runs, so nothing is written. The caller's role is
checked first, so a refused role still gets FORBIDDEN or UNAUTHENTICATED.

Where a value goes: COLUMNS names a column per schema coordinate; an input type in
INPUT_MODELS maps its fields to the model's column of the same name; NAMES maps argument
names used across the API (memberExternalId, orderId, tierCodes, ...).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from tortoise import fields as orm

from core import ids
from core.errors import DomainError, Forbidden, InvalidInput
from core.models import ApiKey, AuditEntry
from engage.models import (
    MemberRfm,
    MessageTemplate,
    Notification,
    NotificationCampaign,
    NpsResponse,
    Webhook,
)
from game.leaderboards.models import LeaderboardDefinition
from game.models import Action, ActionType, Mission, StampCard
from gql.errors import user_error
from members.models import Member, Program
from members.segment_models import Segment
from rewards.badges.models import Badge
from rewards.ledger.models import Posting
from rewards.orders.models import Order, Refund
from rewards.promotions import Promotion
from rewards.spin_wheel.models import SpinResult, SpinSegment, SpinWheel
from rewards.tiers.models import Tier
from rewards.vouchers.models import Voucher, VoucherOffer

DEFAULT_LENGTH = 255  # a String that maps to no column
TEXT_LENGTH = 2000  # a String stored in a text column
CURSOR_LENGTH = 64
JSON_DEPTH = 5
JSON_KEY_LENGTH = 64
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
DATETIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
DATETIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)
# Cc (C0 but tab and newline, DEL, C1) and surrogates, which only a lone one leaves in a str.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_DIGITS = re.compile("[0-9]{1,19}")


def _f(model: Any, name: str) -> orm.Field:
    return model._meta.fields_map[name]  # type: ignore[no-any-return]


# Schema coordinate -> the column its value is stored in or looked up by.
COLUMNS: dict[str, orm.Field] = {
    "Query.member.id": _f(Member, "id"),
    "Query.voucherOffer.id": _f(VoucherOffer, "id"),
    "Query.voucher.code": _f(Voucher, "code"),
    "Query.leaderboard.key": _f(LeaderboardDefinition, "key"),
    "Subscription.leaderboardUpdates.key": _f(LeaderboardDefinition, "key"),
    "Mutation.deleteTier.code": _f(Tier, "code"),
    "Mutation.spin.clientSeed": _f(SpinResult, "client_seed"),
    "Mutation.updateMission.id": _f(Mission, "id"),
    "Mutation.setMissionStatus.id": _f(Mission, "id"),
    "Mutation.cancelNotificationCampaign.id": _f(NotificationCampaign, "id"),
    "Mutation.markNotificationsRead.ids": _f(Notification, "id"),
    "Mutation.submitNps.comment": _f(NpsResponse, "comment"),
    "TrackActionInput.type": _f(ActionType, "key"),
    "AdjustPointsInput.reason": _f(Posting, "description"),
    "RefundOrderInput.amount": _f(Refund, "requested_amount"),
    "SpinSegmentInput.label": _f(SpinSegment, "label"),
    "Mutation.createWebhook.url": _f(Webhook, "url"),
    "Mutation.deleteWebhook.id": _f(Webhook, "id"),
    "Query.webhookDeliveries.webhookId": _f(Webhook, "id"),
}

# Input type -> the model it writes; its fields map to columns of the same (snake) name.
INPUT_MODELS: dict[str, Any] = {
    "EnrollMemberInput": Member,
    "ProgramInput": Program,
    "TierInput": Tier,
    "PromotionInput": Promotion,
    "RecordOrderInput": Order,
    "RefundOrderInput": Refund,
    "VoucherOfferInput": VoucherOffer,
    "RedeemVoucherInput": Voucher,
    "SpinWheelInput": SpinWheel,
    "BadgeInput": Badge,
    "MissionInput": Mission,
    "StampCardInput": StampCard,
    "ActionTypeInput": ActionType,
    "TrackActionInput": Action,
    "LeaderboardInput": LeaderboardDefinition,
    "SegmentInput": Segment,
    "NotificationCampaignInput": NotificationCampaign,
    "MessageTemplateInput": MessageTemplate,
}

# Argument and input field names with one meaning everywhere in the API.
NAMES: dict[str, orm.Field] = {
    "externalId": _f(Member, "external_id"),
    "memberExternalId": _f(Member, "external_id"),
    "memberExternalIds": _f(Member, "external_id"),
    "orderId": _f(Order, "order_id"),
    "tierCode": _f(Tier, "code"),
    "tierCodes": _f(Tier, "code"),
    "badgeCode": _f(Badge, "code"),
    "actionType": _f(ActionType, "key"),
    "actionTypes": _f(ActionType, "key"),
    "idempotencyKey": _f(Action, "idempotency_key"),
    "rfmSegments": _f(MemberRfm, "segment"),
    "segmentId": _f(Segment, "id"),
    "offerId": _f(VoucherOffer, "id"),
    "voucherOfferId": _f(VoucherOffer, "id"),
    "wheelId": _f(SpinWheel, "id"),
    "spinWheelId": _f(SpinWheel, "id"),
    "missionId": _f(Mission, "id"),
    "keyId": _f(ApiKey, "id"),
}

# Cursor arguments -> the id column the list is keyed by.
CURSORS: dict[str, orm.Field] = {
    "Query.members.after": _f(Member, "id"),
    "Segment.members.after": _f(Member, "id"),
    "Query.pointsHistory.after": _f(Posting, "id"),
    "Query.auditLog.after": _f(AuditEntry, "id"),
}


# -- the one ID parser -------------------------------------------------------------------


def _name(field: Sequence[str]) -> str:
    return next((p for p in reversed(field) if not p.isdigit()), "value")


def id_max(column: orm.Field | None) -> int:
    """The largest id a column holds: 64-bit for BigIntField, 32-bit otherwise."""
    return INT64_MAX if isinstance(column, orm.BigIntField) else INT32_MAX


@overload
def parse_id(value: None, field: str | Sequence[str], maximum: int = INT32_MAX) -> None: ...
@overload
def parse_id(value: Any, field: str | Sequence[str], maximum: int = INT32_MAX) -> int: ...
def parse_id(value: Any, field: str | Sequence[str], maximum: int = INT32_MAX) -> int | None:
    """An ID as an int: ASCII digits, 1..maximum; otherwise INVALID_INPUT naming the field.
    An optional ID left out (None) stays None.

    A well-formed id that matches nothing is the resolver's business (NOT_FOUND or null).
    """
    if value is None:
        return None
    path = field.split(".") if isinstance(field, str) else list(field)
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        raise InvalidInput(f"{_name(path)} must be a positive integer id", path)
    number = int(text)
    if not 1 <= number <= maximum:
        raise InvalidInput(f"{_name(path)} is out of range (1..{maximum})", path)
    return number


def parse_cursor(value: str, field: str | Sequence[str], maximum: int = INT32_MAX) -> int:
    """The id inside an opaque cursor made by ids.encode_cursor(id)."""
    path = field.split(".") if isinstance(field, str) else list(field)
    try:
        parts = ids.decode_cursor(value)
    except ValueError:
        parts = []
    if len(parts) != 1:
        raise InvalidInput(f"{_name(path)} is not a cursor from this list", path)
    return parse_id(parts[0], path, maximum)


# -- checks ------------------------------------------------------------------------------

Path = list[str]
Check = Callable[[Any, Path], None]


def check_string(value: str, path: Path, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(f"{_name(path)} must be at most {limit} characters", path)
    if _FORBIDDEN.search(value):
        raise InvalidInput(
            f"{_name(path)} must not contain control characters (other than tab and newline)"
            " or unpaired surrogates",
            path,
        )


def _string(limit: int) -> Check:
    return lambda value, path: check_string(value, path, limit)


def _id(maximum: int) -> Check:
    def check(value: Any, path: Path) -> None:
        parse_id(value, path, maximum)

    return check


def _cursor(maximum: int) -> Check:
    def check(value: Any, path: Path) -> None:
        check_string(value, path, CURSOR_LENGTH)
        parse_cursor(value, path, maximum)

    return check


def _decimal(digits: int, places: int) -> Check:
    bound = Decimal(10) ** (digits - places)
    quantum = Decimal(1).scaleb(-places)

    def check(value: Any, path: Path) -> None:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise InvalidInput(f"{_name(path)} must be a finite number", path)
        if abs(value) >= bound:
            raise InvalidInput(f"{_name(path)} must be less than 10^{digits - places}", path)
        try:
            exact = value == value.quantize(quantum)
        except InvalidOperation:
            exact = False
        if not exact:
            raise InvalidInput(f"{_name(path)} has more than {places} decimal places", path)

    return check


def _float(digits: int, places: int) -> Check:
    """A Float stored in a decimal column: within range, and not so small it becomes 0."""
    bound = 10.0 ** (digits - places)
    smallest = 10.0**-places

    def check(value: Any, path: Path) -> None:
        if not math.isfinite(value) or abs(value) >= bound:
            raise InvalidInput(f"{_name(path)} must be less than 10^{digits - places}", path)
        if value and abs(value) < smallest:
            raise InvalidInput(f"{_name(path)} is too small: at most {places} decimal places", path)

    return check


def _bigint(value: Any, path: Path) -> None:
    # Symmetric, so that a negated or absolute value still fits a 64-bit column.
    if not -INT64_MAX <= value <= INT64_MAX:
        raise InvalidInput(f"{_name(path)} must be within ±(2^63 - 1)", path)


def _datetime(value: Any, path: Path) -> None:
    if not DATETIME_MIN <= value <= DATETIME_MAX:
        raise InvalidInput(f"{_name(path)} must be between 2000-01-01 and 2100-01-01", path)


def _json(value: Any, path: Path, depth: int = 0) -> None:
    if depth > JSON_DEPTH:
        raise InvalidInput(f"{_name(path)} is nested deeper than {JSON_DEPTH} levels", path)
    if isinstance(value, str):
        check_string(value, path, DEFAULT_LENGTH)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        _bigint(value, path)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{_name(path)} holds a number that is not finite", path)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_string(str(key), path, JSON_KEY_LENGTH)
            _json(item, path, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _json(item, path, depth + 1)


def _scalar_check(scalar: str, column: orm.Field | None, cursor: orm.Field | None) -> Check | None:
    if cursor is not None:
        return _cursor(id_max(cursor))
    if scalar == "String":
        if isinstance(column, orm.CharField):
            return _string(column.max_length)
        return _string(TEXT_LENGTH if isinstance(column, orm.TextField) else DEFAULT_LENGTH)
    if scalar == "ID":
        return _id(id_max(column))
    if scalar == "Decimal":
        if isinstance(column, orm.DecimalField):
            return _decimal(column.max_digits, column.decimal_places)
        return _decimal(18, 4)
    if scalar == "Float" and isinstance(column, orm.DecimalField):
        return _float(column.max_digits, column.decimal_places)
    if scalar == "BigInt":
        return _bigint
    if scalar == "DateTime":
        return _datetime
    if scalar == "JSON":
        return _json
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def column_of(owner: str, name: str) -> orm.Field | None:
    """The column behind argument or input field `name` of `owner` (a coordinate such as
    "Mutation.spin" or an input type name), or None."""
    if f"{owner}.{name}" in COLUMNS:
        return COLUMNS[f"{owner}.{name}"]
    model = INPUT_MODELS.get(owner)
    if model is not None:
        found = model._meta.fields_map.get(_snake(name))
        if found is not None and not isinstance(found, orm.JSONField):
            return found  # type: ignore[no-any-return]
    return NAMES.get(name)


class _Builder:
    """Builds, once per schema, the check of each argument tree (None: nothing to check)."""

    def __init__(self) -> None:
        self.inputs: dict[str, Callable[[Any, Path], None] | None] = {}

    def of_type(self, kind: GraphQLInputType, owner: str, name: str) -> Check | None:
        if isinstance(kind, GraphQLNonNull):
            return self.of_type(kind.of_type, owner, name)
        if isinstance(kind, GraphQLList):
            item = self.of_type(kind.of_type, owner, name)
            if item is None:
                return None
            return functools.partial(_each, item)
        if isinstance(kind, GraphQLInputObjectType):
            return self.input_object(kind)
        if isinstance(kind, GraphQLScalarType):
            return _scalar_check(kind.name, column_of(owner, name), CURSORS.get(f"{owner}.{name}"))
        return None  # enums: GraphQL checks them

    def input_object(self, kind: GraphQLInputObjectType) -> Check | None:
        if kind.name in self.inputs:
            return self.inputs[kind.name]
        self.inputs[kind.name] = None  # a self-referencing input ends here
        checks = [
            (name, check)
            for name, field in kind.fields.items()
            if (check := self.of_type(field.type, kind.name, name)) is not None
        ]
        result = functools.partial(_fields, tuple(checks)) if checks else None
        self.inputs[kind.name] = result
        return result

    def arguments(self, owner: str, field: GraphQLField) -> Callable[[dict[str, Any]], None] | None:
        checks = tuple(
            (name, check)
            for name, argument in field.args.items()
            if (check := self.of_type(argument.type, owner, name)) is not None
        )
        return functools.partial(_arguments, checks) if checks else None


def _each(item: Check, value: Any, path: Path) -> None:
    for index, element in enumerate(value):
        if element is not None:
            item(element, [*path, str(index)])


def _fields(checks: tuple[tuple[str, Check], ...], value: Any, path: Path) -> None:
    for name, check in checks:
        element = value.get(name)
        if element is not None:
            check(element, [*path, name])


def _arguments(checks: tuple[tuple[str, Check], ...], arguments: dict[str, Any]) -> None:
    for name, check in checks:
        value = arguments.get(name)
        if value is not None:
            check(value, [name])


# -- wiring ------------------------------------------------------------------------------


def _permitted(field: GraphQLField, source: Any, info: Any, schema: Any) -> None:
    """Raise what the field's permission classes raise for this caller (a refused role is
    told so before anything about its input)."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or not definition.permission_classes:
        return
    strawberry_info = schema.config.info_class(_raw_info=info, _field=definition)
    for permission in definition.permission_classes:
        instance = permission()
        if not instance.has_permission(source, strawberry_info):
            raise Forbidden(instance.message or "not allowed")


def _payload_class(field: GraphQLField) -> type | None:
    """The class of a mutation payload with `errors: [UserError!]!`, else None."""
    kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(kind, GraphQLObjectType) or "errors" not in kind.fields:
        return None
    definition = (kind.extensions or {}).get("strawberry-definition")
    return getattr(definition, "origin", None)


def _guard(
    resolve: Callable[..., Any],
    check: Callable[[dict[str, Any]], None],
    field: GraphQLField,
    payload: type | None,
    schema: Any,
) -> Callable[..., Any]:
    @functools.wraps(resolve)
    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        try:
            check(arguments)
        except DomainError as refusal:
            _permitted(field, source, info, schema)
            if payload is None:
                raise
            return payload(errors=[user_error(refusal, refusal.field)])
        return resolve(source, info, **arguments)

    guarded.__loyalty_guarded__ = True  # type: ignore[attr-defined]
    guarded.__loyalty_check__ = check  # type: ignore[attr-defined]  # for bench/input_checks.py
    return guarded


def install(schema: Any) -> int:
    """Wrap the resolver of every field of `schema` (a strawberry Schema) that takes a
    value needing a check; return how many fields were wrapped."""
    builder = _Builder()
    wrapped = 0
    for type_name, kind in schema._schema.type_map.items():
        if not isinstance(kind, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, field in kind.fields.items():
            check = builder.arguments(f"{type_name}.{name}", field)
            if check is None:
                continue
            payload = _payload_class(field) if type_name == "Mutation" else None
            if field.subscribe is not None:
                if not getattr(field.subscribe, "__loyalty_guarded__", False):
                    field.subscribe = _guard(field.subscribe, check, field, None, schema)
            elif field.resolve is not None and not getattr(
                field.resolve, "__loyalty_guarded__", False
            ):
                field.resolve = _guard(field.resolve, check, field, payload, schema)
            wrapped += 1
    return wrapped
