"""Every expected failure of the domain, as one hierarchy with stable codes.

    DomainError                 base; carries an ErrorCode, a message and the field
    ├── Unauthenticated         no or bad credential                  UNAUTHENTICATED
    ├── Forbidden               the role may not do this              FORBIDDEN
    ├── NotFound                the thing named does not exist        NOT_FOUND
    ├── InvalidInput            a field is malformed or out of range  INVALID_INPUT
    ├── AlreadyExists           a unique value is taken               ALREADY_EXISTS
    ├── IdempotencyConflict     a key was reused with other content   IDEMPOTENCY_CONFLICT
    ├── InsufficientPoints      the balance does not cover a spend    INSUFFICIENT_POINTS
    ├── OutOfStock              nothing left to give                  OUT_OF_STOCK
    ├── LimitReached            a per-member or per-day cap is hit    LIMIT_REACHED
    ├── NotEligible             the member may not take this          NOT_ELIGIBLE
    ├── Expired                 past its validity                     EXPIRED
    ├── AlreadyRedeemed         used or claimed already               ALREADY_REDEEMED
    ├── ReferralRejected        the referral code may not be used     REFERRAL_REJECTED
    ├── BudgetExhausted         the issuance budget does not cover it BUDGET_EXHAUSTED
    └── Inactive                the thing is switched off             INACTIVE

Domain code raises these; gql/errors.py maps them to the API's UserError in one place.
The field is named the domain's way (`points`, `order_id`, `segments.2.weight`: the names
of the data it checks), never as an API input path; gql/errors.api_path says it the API's
way (["input", "orderId"]).
A raise inside a transaction rolls the whole write back, so "nothing is written" holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class ErrorCode(Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    EXPIRED = "EXPIRED"
    ALREADY_REDEEMED = "ALREADY_REDEEMED"
    REFERRAL_REJECTED = "REFERRAL_REJECTED"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    INACTIVE = "INACTIVE"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, field: str | Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if isinstance(field, str):
            field = field.split(".")
        self.field: list[str] | None = list(field) if field else None


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_INPUT


class AlreadyExists(DomainError):
    code = ErrorCode.ALREADY_EXISTS


class IdempotencyConflict(DomainError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT


class InsufficientPoints(DomainError):
    code = ErrorCode.INSUFFICIENT_POINTS


class OutOfStock(DomainError):
    code = ErrorCode.OUT_OF_STOCK


class LimitReached(DomainError):
    code = ErrorCode.LIMIT_REACHED


class NotEligible(DomainError):
    code = ErrorCode.NOT_ELIGIBLE


class Expired(DomainError):
    code = ErrorCode.EXPIRED


class AlreadyRedeemed(DomainError):
    code = ErrorCode.ALREADY_REDEEMED


class ReferralRejected(DomainError):
    code = ErrorCode.REFERRAL_REJECTED


class BudgetExhausted(DomainError):
    code = ErrorCode.BUDGET_EXHAUSTED


class Inactive(DomainError):
    code = ErrorCode.INACTIVE
