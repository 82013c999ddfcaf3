"""Why points moved: the LedgerReason of every posting."""

from __future__ import annotations

from enum import Enum


class Reason(Enum):
    WELCOME = "WELCOME"
    ORDER = "ORDER"
    REFERRAL = "REFERRAL"
    ACTION = "ACTION"
    MISSION = "MISSION"
    SPIN = "SPIN"
    PROMOTION = "PROMOTION"
    BIRTHDAY = "BIRTHDAY"
    REDEMPTION = "REDEMPTION"
    VOUCHER = "VOUCHER"
    REFUND = "REFUND"
    EXPIRY = "EXPIRY"
    ADJUSTMENT = "ADJUSTMENT"
