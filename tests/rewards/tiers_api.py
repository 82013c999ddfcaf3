"""GraphQL documents and helpers for the tiers, promotions and referrals API tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

UPSERT = """
mutation($input: TierInput!) {
  upsertTier(input: $input) {
    tier { code name description threshold earnMultiplier voucherDiscountPercent
           priceListCode perks }
    errors { code field message }
  }
}"""

DELETE = """
mutation($code: String!) {
  deleteTier(code: $code) { tier { code } errors { code field } }
}"""

TIERS = "{ tiers { code threshold earnMultiplier voucherDiscountPercent priceListCode perks } }"

ENROL = """
mutation($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { id externalId referralCode } errors { code field } }
}"""

ORDER = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) {
    pointsEarned tierPointsEarned referralPointsAwarded duplicate
    errors { code field message }
  }
}"""

REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) { errors { code field message } }
}"""

MEMBER_TIER = """
query($externalId: String!) {
  member(externalId: $externalId) {
    tierPoints tierPointsToNext tierGraceUntil
    tier { code earnMultiplier voucherDiscountPercent priceListCode perks }
    nextTier { code threshold }
  }
}"""

PROMOTE = """
mutation($input: PromotionInput!) {
  createPromotion(input: $input) {
    promotion { id name multiplier startsAt endsAt daysOfWeek tierCodes actionTypes }
    errors { code field message }
  }
}"""

STANDARD = [
    {"code": "MEMBER", "name": "Member", "threshold": 0},
    {"code": "SILVER", "name": "Silver", "threshold": 100, "earnMultiplier": 1.0},
    {
        "code": "GOLD",
        "name": "Gold",
        "threshold": 300,
        "earnMultiplier": 1.5,
        "voucherDiscountPercent": 5.0,
        "priceListCode": "GOLD-PRICES",
        "perks": ["Free delivery", "Birthday gift"],
    },
]


async def create_standard_tiers(api: Api) -> None:
    for tier in STANDARD:
        data = await api.admin(UPSERT, {"input": tier})
        assert data["upsertTier"]["errors"] == []


async def enrol_api(api: Api, external_id: str, **fields: Any) -> dict[str, Any]:
    data = await api.admin(
        ENROL, {"input": {"externalId": external_id, "displayName": external_id} | fields}
    )
    return data["enrollMember"]


_orders = iter(range(1, 10**6))


async def record(api: Api, external_id: str, amount: str) -> dict[str, Any]:
    data = await api.integration(
        ORDER,
        {
            "input": {
                "orderId": f"api-{next(_orders)}",
                "memberExternalId": external_id,
                "amount": amount,
            }
        },
    )
    assert data["recordOrder"]["errors"] == [], data
    return data["recordOrder"]


async def member_tier(api: Api, external_id: str) -> dict[str, Any]:
    return (await api.admin(MEMBER_TIER, {"externalId": external_id}))["member"]
