"""Voucher offers, claiming with points and redeeming at checkout, through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import clock, ids
from core.errors import OutOfStock
from core.settings import Settings
from members import segments
from rewards.vouchers import service as vouchers
from rewards.vouchers.models import Voucher, VoucherOffer
from tests import factories
from tests.conftest import Api
from tests.rewards.checks import balance
from tests.rewards.factories import member_with, offer, order, standard_tiers, token_with

CREATE = """
mutation($input: VoucherOfferInput!) {
  createVoucherOffer(input: $input) {
    offer { id name pointsCost pointsCostForMe discountType discountValue stockRemaining
            perMemberLimit hidden }
    errors { code field }
  }
}"""

OFFERS = "{ voucherOffers { id name pointsCost pointsCostForMe stockRemaining hidden } }"

OFFER = "query($id: ID!) { voucherOffer(id: $id) { id pointsCostForMe hidden } }"

CLAIM = """
mutation($id: ID!) {
  claimVoucher(offerId: $id) {
    voucher { code status claimedAt expiresAt offer { id pointsCostForMe } }
    member { pointsBalance }
    errors { code field }
  }
}"""

MINE = """
query($status: VoucherStatus) { myVouchers(status: $status) { code status offer { id } } }"""

REDEEM = """
mutation($input: RedeemVoucherInput!) {
  redeemVoucher(input: $input) {
    voucher { code status orderId redeemedAt }
    discount
    duplicate
    errors { code field }
  }
}"""

LOOKUP = "query($code: String!) { voucher(code: $code) { code status orderId offer { name } } }"


def offer_input(**fields: object) -> dict[str, object]:
    return {
        "name": "50k off",
        "pointsCost": 100,
        "discountType": "AMOUNT",
        "discountValue": "50000",
    } | fields


async def test_gold_member_sees_tier_price_and_pays_it(api: Api, settings: Settings) -> None:
    # given Gold (5% voucher discount) and a member who reached it with orders
    await standard_tiers()
    member = await factories.member()
    await order(member, 2_000_000)
    await order(member, 4_000_000)
    token = factories.token_for(member, settings)
    created = (await api.admin(CREATE, {"input": offer_input()}))["createVoucherOffer"]
    assert created["errors"] == []
    offer_id = created["offer"]["id"]
    assert created["offer"]["pointsCostForMe"] is None  # the admin has no tier
    # when the member looks at the catalog
    listed = (await api(OFFERS, token=token))["voucherOffers"]
    # then the 100-point offer costs them 95
    assert [(o["id"], o["pointsCost"], o["pointsCostForMe"]) for o in listed] == [
        (offer_id, 100, 95)
    ]
    before = await balance(member)
    # and claiming it debits 95 and issues an ACTIVE voucher with an unguessable code
    claimed = (await api(CLAIM, {"id": offer_id}, token=token))["claimVoucher"]
    assert claimed["errors"] == []
    assert claimed["member"]["pointsBalance"] == before - 95
    code = claimed["voucher"]["code"]
    assert len(code) >= 10 and set(code) <= set(ids.UNAMBIGUOUS)
    assert claimed["voucher"]["status"] == "ACTIVE"
    assert claimed["voucher"]["offer"]["pointsCostForMe"] == 95
    expires = datetime.fromisoformat(claimed["voucher"]["expiresAt"])
    claimed_at = datetime.fromisoformat(claimed["voucher"]["claimedAt"])
    assert expires - claimed_at == timedelta(days=30)
    mine = (await api(MINE, {"status": "ACTIVE"}, token=token))["myVouchers"]
    assert [v["code"] for v in mine] == [code]


async def test_tier_price_rounds_up() -> None:
    """Given a voucher price and a tier discount, when the tier price is computed, then it is
    rounded up, in the program's favour."""
    assert vouchers.price(99, Decimal(5)) == 95  # 94.05 -> 95
    assert vouchers.price(100, Decimal(5)) == 95
    assert vouchers.price(1, Decimal("99.5")) == 1
    assert vouchers.price(0, Decimal(5)) == 0


async def test_each_failed_claim_debits_nothing(api: Api, settings: Settings) -> None:
    # given a member with 150 points and offers that fail for each reason
    await standard_tiers()
    member, token = await token_with(150, settings)
    sold_out = await offer(stock=0)
    once = await offer(points_cost=10, per_member_limit=1)
    later = await offer(valid_from=clock.now() + timedelta(days=1))
    ended = await offer(valid_until=clock.now() - timedelta(seconds=1))
    gold_only = await offer(tier_codes=["GOLD"])
    dear = await offer(points_cost=151)
    first = (await api(CLAIM, {"id": str(once.id)}, token=token))["claimVoucher"]
    assert first["errors"] == []
    before = await balance(member)
    vouchers_before = await Voucher.all().count()
    cases = {
        sold_out.id: "OUT_OF_STOCK",
        once.id: "LIMIT_REACHED",
        later.id: "NOT_ELIGIBLE",
        ended.id: "NOT_ELIGIBLE",
        gold_only.id: "NOT_ELIGIBLE",
        dear.id: "INSUFFICIENT_POINTS",
        999_999: "NOT_FOUND",
    }
    for offer_id, code in cases.items():
        # when the member claims it
        result = (await api(CLAIM, {"id": str(offer_id)}, token=token))["claimVoucher"]
        # then the claim fails with its code and nothing is debited or issued
        assert result["voucher"] is None
        assert [e["code"] for e in result["errors"]] == [code], offer_id
    assert await balance(member) == before == 140
    assert await Voucher.all().count() == vouchers_before == 1
    assert (await VoucherOffer.get(id=dear.id)).claimed == 0


async def test_catalog_lists_only_what_the_member_may_take_now(
    api: Api, settings: Settings
) -> None:
    # given offers: open, hidden, not yet open, for Gold only, and a Silver member
    await standard_tiers()
    member = await factories.member()
    await order(member, 2_000_000)  # 100 tier points: Silver
    token = factories.token_for(member, settings)
    open_offer = await offer(name="open")
    hidden = await offer(name="hidden", hidden=True)
    later = await offer(name="later", valid_from=clock.now() + timedelta(hours=1))
    gold = await offer(name="gold", tier_codes=["GOLD"])
    silver = await offer(name="silver", tier_codes=["SILVER", "GOLD"])
    # when the member lists offers
    listed = (await api(OFFERS, token=token))["voucherOffers"]
    # then only the open and Silver ones show
    assert sorted(o["name"] for o in listed) == ["open", "silver"]
    # and by id the hidden one shows, ineligible ones do not
    found = {
        o.name: (await api(OFFER, {"id": str(o.id)}, token=token))["voucherOffer"]
        for o in (open_offer, hidden, later, gold)
    }
    assert found["hidden"] == {"id": str(hidden.id), "pointsCostForMe": 100, "hidden": True}
    assert found["open"] is not None
    assert found["later"] is None and found["gold"] is None
    assert (await api(OFFER, {"id": "999999"}, token=token))["voucherOffer"] is None
    # and admins see every offer
    everything = (await api.admin("{ allVoucherOffers { name } }"))["allVoucherOffers"]
    assert len(everything) == 5
    assert (await api(OFFER, {"id": str(silver.id)}, token=token))["voucherOffer"] is not None


async def test_bad_offer_input_names_the_field_and_writes_nothing(api: Api) -> None:
    # given offer inputs each wrong in one field
    cases = {
        "name": {"name": "  "},
        "pointsCost": {"pointsCost": -1},
        "discountValue": {"discountValue": "0"},
        "maxDiscount": {"maxDiscount": "-5"},
        "minOrderAmount": {"minOrderAmount": "-1"},
        "stock": {"stock": -1},
        "perMemberLimit": {"perMemberLimit": 0},
        "voucherValidDays": {"voucherValidDays": 0},
        "validUntil": {
            "validFrom": "2026-12-01T00:00:00Z",
            "validUntil": "2026-11-01T00:00:00Z",
        },
    }
    # when an admin creates each
    for field, change in cases.items():
        result = (await api.admin(CREATE, {"input": offer_input(**change)}))["createVoucherOffer"]
        # then each is INVALID_INPUT naming that field, and nothing is written
        assert result["offer"] is None
        assert result["errors"] == [{"code": "INVALID_INPUT", "field": ["input", field]}], field
    # and a percent over 100 is refused naming the value
    percent = offer_input(discountType="PERCENT", discountValue="101")
    result = (await api.admin(CREATE, {"input": percent}))["createVoucherOffer"]
    assert result["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "discountValue"]}]
    assert await VoucherOffer.all().count() == 0


async def test_voucher_past_expiry_shows_expired_and_cannot_be_used(
    api: Api, settings: Settings
) -> None:
    # given a claimed voucher valid for 7 days
    clock.freeze(datetime(2026, 11, 1, 3, 0, tzinfo=UTC))
    member, token = await token_with(100, settings)
    o = await offer(points_cost=10, voucher_valid_days=7)
    code = (await api(CLAIM, {"id": str(o.id)}, token=token))["claimVoucher"]["voucher"]["code"]
    # when 7 days pass
    clock.advance(timedelta(days=7))
    token = factories.token_for(member, settings)
    # then it shows EXPIRED, and redeeming it is EXPIRED
    assert (await api(MINE, {"status": "EXPIRED"}, token=token))["myVouchers"][0]["code"] == code
    assert (await api(MINE, {"status": "ACTIVE"}, token=token))["myVouchers"] == []
    assert (await api(MINE, {}, token=token))["myVouchers"][0]["status"] == "EXPIRED"
    redeem = {"code": code, "orderId": "o-1", "orderAmount": "100000"}
    result = (await api.integration(REDEEM, {"input": redeem}))["redeemVoucher"]
    assert result["errors"] == [{"code": "EXPIRED", "field": ["input", "code"]}]
    assert (await api.integration(LOOKUP, {"code": code}))["voucher"]["status"] == "EXPIRED"


async def test_redeeming_at_checkout(api: Api, settings: Settings) -> None:
    # given a 10% voucher capped at 30,000 for orders of at least 200,000
    _member, token = await token_with(100, settings)
    o = await offer(
        points_cost=0,
        discount_type=vouchers.DiscountType.PERCENT,
        discount_value=Decimal(10),
        max_discount=Decimal(30000),
        min_order_amount=Decimal(200000),
    )
    code = (await api(CLAIM, {"id": str(o.id)}, token=token))["claimVoucher"]["voucher"]["code"]

    async def redeem(order_id: str, amount: str, voucher: str = code) -> dict:
        variables = {"input": {"code": voucher, "orderId": order_id, "orderAmount": amount}}
        return (await api.integration(REDEEM, variables))["redeemVoucher"]

    # when the order is too small: NOT_ELIGIBLE and the voucher stays usable
    small = await redeem("o-1", "199999")
    assert small["errors"] == [{"code": "NOT_ELIGIBLE", "field": ["input", "orderAmount"]}]
    assert (await api.integration(LOOKUP, {"code": code}))["voucher"]["status"] == "ACTIVE"
    # when the order qualifies: 10% of 250,000 = 25,000
    first = await redeem("o-2", "250000")
    assert first["errors"] == []
    assert Decimal(first["discount"]) == Decimal(25000)
    assert first["voucher"]["status"] == "REDEEMED"
    assert first["voucher"]["orderId"] == "o-2"
    assert first["duplicate"] is False
    # then a retry of the same order returns the first result
    again = await redeem("o-2", "250000")
    assert again["errors"] == [] and again["duplicate"] is True
    assert (again["discount"], again["voucher"]) == (first["discount"], first["voucher"])
    # and the same order with another amount is a conflict, another order ALREADY_REDEEMED
    assert (await redeem("o-2", "300000"))["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    assert (await redeem("o-3", "250000"))["errors"] == [
        {"code": "ALREADY_REDEEMED", "field": ["input", "code"]}
    ]
    assert (await redeem("o-4", "250000", "NOSUCHCODE99"))["errors"] == [
        {"code": "NOT_FOUND", "field": ["input", "code"]}
    ]
    lookup = (await api.integration(LOOKUP, {"code": code.lower()}))["voucher"]
    assert lookup == {
        "code": code,
        "status": "REDEEMED",
        "orderId": "o-2",
        "offer": {"name": o.name},
    }
    assert (await api(MINE, {"status": "REDEEMED"}, token=token))["myVouchers"][0]["code"] == code
    # and a member token may not redeem
    body = await api.raw(
        REDEEM, {"input": {"code": code, "orderId": "x", "orderAmount": "1"}}, token=token
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_discounts() -> None:
    # given offers of a percent, capped or not, and of an amount, capped or not
    def make(kind: str, value: int, cap: int | None = None) -> VoucherOffer:
        return VoucherOffer(
            discount_type=kind,
            discount_value=Decimal(value),
            max_discount=Decimal(cap) if cap is not None else None,
        )

    # when the discount on an order is computed
    # then a percent is capped, an amount never exceeds the order nor its cap
    assert vouchers.discount_for(make("PERCENT", 10, 30000), Decimal(1_000_000)) == 30000
    assert vouchers.discount_for(make("PERCENT", 10), Decimal(1_000_000)) == 100000
    assert vouchers.discount_for(make("PERCENT", 15), Decimal("333.33")) == Decimal("49.99")
    assert vouchers.discount_for(make("AMOUNT", 50000), Decimal(1_000_000)) == 50000
    assert vouchers.discount_for(make("AMOUNT", 50000), Decimal(20000)) == 20000  # not beyond
    assert vouchers.discount_for(make("AMOUNT", 50000, 40000), Decimal(100000)) == 40000


async def test_granted_vouchers_cost_nothing_but_stock_holds() -> None:
    # given an offer with 1 left
    member = await member_with(0)
    o = await offer(stock=1, points_cost=500, per_member_limit=1)
    # when a mission grants it twice
    first = await vouchers.grant_voucher(member.id, o.id, "mission:1")
    # then the first is issued for free and the second is OUT_OF_STOCK, writing nothing
    assert first.points_spent == 0 and first.source == "mission:1"
    with pytest.raises(OutOfStock):
        await vouchers.grant_voucher(member.id, o.id, "mission:1")
    assert await Voucher.filter(member_id=member.id).count() == 1
    assert (await VoucherOffer.get(id=o.id)).claimed == 1
    assert await balance(member) == 0


async def test_segment_targeted_offer(api: Api, settings: Settings) -> None:
    # given a fixed-list segment holding one of two members, and an offer for it
    insider, insider_token = await token_with(100, settings)
    _, outsider_token = await token_with(100, settings)
    segment = await segments.create_segment("VIP list", None, [insider.external_id])
    created = await api.admin(CREATE, {"input": offer_input(segmentId=str(segment.id))})
    offer_id = created["createVoucherOffer"]["offer"]["id"]
    # when the members list the offers and claim it
    # then only the insider sees it and may claim it
    assert [o["id"] for o in (await api(OFFERS, token=insider_token))["voucherOffers"]] == [
        offer_id
    ]
    assert (await api(OFFERS, token=outsider_token))["voucherOffers"] == []
    refused = (await api(CLAIM, {"id": offer_id}, token=outsider_token))["claimVoucher"]
    assert refused["errors"] == [{"code": "NOT_ELIGIBLE", "field": ["offerId"]}]
    claimed = (await api(CLAIM, {"id": offer_id}, token=insider_token))["claimVoucher"]
    assert claimed["errors"] == []
    # and an unknown segment is refused when the offer is created
    unknown = await api.admin(CREATE, {"input": offer_input(segmentId="999")})
    assert unknown["createVoucherOffer"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["input", "segmentId"]}
    ]
    no_tier = await api.admin(CREATE, {"input": offer_input(tierCodes=["PLATINUM"])})
    assert no_tier["createVoucherOffer"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["input", "tierCodes"]}
    ]
