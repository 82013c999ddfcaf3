"""Spending on the real server: a member buys a voucher that the till redeems once, and
spins a wheel whose every result re-checks against the hash shown before it."""

from __future__ import annotations

from rewards import spin_fairness
from tests.acceptance.conftest import Server
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY

ENROL = """mutation($i: EnrollMemberInput!) { enrollMember(input: $i) { member { id } } }"""
TOKEN = """mutation($e: String!) { issueMemberToken(memberExternalId: $e) { token } }"""
ADJUST = """mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) { errors { code } } }"""
OFFER = """mutation($i: VoucherOfferInput!) { createVoucherOffer(input: $i) {
  offer { id } errors { code } } }"""
CLAIM = """mutation($id: ID!) { claimVoucher(offerId: $id) {
  voucher { code status } member { pointsBalance } errors { code } } }"""
REDEEM = """mutation($i: RedeemVoucherInput!) { redeemVoucher(input: $i) {
  discount duplicate voucher { status orderId } errors { code } } }"""
WHEEL = """mutation($i: SpinWheelInput!) { createSpinWheel(input: $i) {
  wheel { id } errors { code } } }"""
WHEELS = "{ spinWheels { id nextSeedHash nextNonce segments { label probability } } }"
SPIN = """mutation($id: ID!, $seed: String!) { spin(wheelId: $id, clientSeed: $seed) {
  result { serverSeed clientSeed nonce segment { id label } draw { segmentId weight } }
  errors { code } } }"""


async def test_voucher_bought_and_redeemed_once_and_fair_spins(server: Server) -> None:
    # given a member with 200 points
    ext = "acc-shop-1"
    await server.data(
        ENROL, {"i": {"externalId": ext, "displayName": "Đỗ Minh"}}, token=INTEGRATION_KEY
    )
    token = (await server.data(TOKEN, {"e": ext}, token=INTEGRATION_KEY))["issueMemberToken"][
        "token"
    ]
    fund = {
        "memberExternalId": ext,
        "points": 200,
        "reason": "welcome gift",
        "idempotencyKey": "acc-shop-f",
    }
    assert (await server.data(ADJUST, {"i": fund}, token=ADMIN_KEY))["adjustPoints"]["errors"] == []
    # when they buy a 120-point voucher and the till uses it twice on one order, then on another
    offer = {"name": "Acc 20%", "pointsCost": 120, "discountType": "PERCENT", "discountValue": "20"}
    offer_id = (await server.data(OFFER, {"i": offer}, token=ADMIN_KEY))["createVoucherOffer"][
        "offer"
    ]["id"]
    claimed = (await server.data(CLAIM, {"id": offer_id}, token=token))["claimVoucher"]
    assert claimed["errors"] == [] and claimed["member"]["pointsBalance"] == 80
    use = {"code": claimed["voucher"]["code"], "orderId": "acc-shop-o1", "orderAmount": "500000"}
    first = (await server.data(REDEEM, {"i": use}, token=INTEGRATION_KEY))["redeemVoucher"]
    retry = (await server.data(REDEEM, {"i": use}, token=INTEGRATION_KEY))["redeemVoucher"]
    other = await server.data(
        REDEEM, {"i": use | {"orderId": "acc-shop-o2"}}, token=INTEGRATION_KEY
    )
    # then the discount is given once, the retry repeats it, another order is refused
    assert first == {
        "discount": "100000.00",
        "duplicate": False,
        "voucher": {"status": "REDEEMED", "orderId": "acc-shop-o1"},
        "errors": [],
    }
    assert retry["discount"] == first["discount"] and retry["duplicate"] is True
    assert other["redeemVoucher"]["errors"] == [{"code": "ALREADY_REDEEMED"}]

    # when they spin a free wheel whose jackpot (3/4 of the weight) has stock 3, 16 times
    wheel = {
        "name": "Acc wheel",
        "segments": [
            {"label": "Jackpot", "weight": 3, "prize": {"points": 10}, "stock": 3},
            {"label": "Nothing", "weight": 1},
        ],
    }
    wheel_id = (await server.data(WHEEL, {"i": wheel}, token=ADMIN_KEY))["createSpinWheel"][
        "wheel"
    ]["id"]
    jackpots = 0
    for i in range(16):
        view = next(
            w for w in (await server.data(WHEELS, token=token))["spinWheels"] if w["id"] == wheel_id
        )
        result = (await server.data(SPIN, {"id": wheel_id, "seed": f"acc-{i}"}, token=token))[
            "spin"
        ]["result"]
        # then each result re-checks against the hash shown before it
        draw = result["draw"]
        verdict = spin_fairness.verify(
            server_seed=result["serverSeed"],
            client_seed=result["clientSeed"],
            nonce=result["nonce"],
            weights=[d["weight"] for d in draw],
            seed_hash_shown=view["nextSeedHash"],
            claimed_index=[d["segmentId"] for d in draw].index(result["segment"]["id"]),
        )
        assert verdict.ok and result["nonce"] == view["nextNonce"] == i
        jackpots += result["segment"]["label"] == "Jackpot"
    # and the jackpot is won 3 times (not fewer but for odds of ~1e-7), then reads 0
    assert jackpots == 3
    view = next(
        w for w in (await server.data(WHEELS, token=token))["spinWheels"] if w["id"] == wheel_id
    )
    assert view["segments"] == [
        {"label": "Jackpot", "probability": 0.0},
        {"label": "Nothing", "probability": 1.0},
    ]
