"""Lots: oldest first for spending and expiry; the expiry job; pointsExpiringSoon; history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import clock
from rewards.ledger import jobs, service
from rewards.ledger.models import Lot
from rewards.ledger.reasons import Reason
from tests import factories
from tests.conftest import Api
from tests.rewards.checks import assert_books_balance
from tests.rewards.ledger_api import audit, points, record, redeem, refund

T0 = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
HISTORY = """query($after: String) { pointsHistory(first: 2, after: $after) {
  edges { cursor node { points reason description orderId availableAt expiresAt } }
  pageInfo { hasNextPage endCursor } } }"""


async def test_spending_consumes_the_oldest_lot_first_so_newer_points_survive_expiry(
    api: Api,
) -> None:
    # given 100 points earned on day 0 and 100 on day 100 (expiry after 365 days)
    clock.freeze(T0)
    m = await factories.member(external_id="e1")
    await service.credit(m.id, 100, Reason.ACTION)
    clock.advance(timedelta(days=100))
    await service.credit(m.id, 100, Reason.ACTION)
    # when 150 are spent and a year passes since the first lot
    await redeem(api, "e1", 150, "e1-spend")
    clock.advance(timedelta(days=266))
    assert await jobs.expire_points() == 0  # the old lot is spent: nothing to expire
    # then the 50 left of the newer lot expire only when it turns 365 days old
    clock.advance(timedelta(days=98))
    assert (await points(api, "e1"))["pointsExpiringSoon"] == 50
    assert await jobs.expire_points() == 0
    clock.advance(timedelta(days=1))
    assert await jobs.expire_points() == 1
    assert await jobs.expire_points() == 0  # running it again changes nothing
    p = await points(api, "e1")
    assert (p["pointsBalance"], p["pointsExpiringSoon"], p["lifetimePoints"]) == (0, 0, 200)
    a = await audit(api)
    assert (a["pointsExpired"], a["pointsRedeemed"], a["balanced"]) == ("50", "150", True)
    await assert_books_balance()


async def test_expiring_soon_counts_lots_due_within_30_days(api: Api) -> None:
    # given a member's lot of 10 points, and one of 20 forty days later
    clock.freeze(T0)
    m = await factories.member(external_id="e2")
    await service.credit(m.id, 10, Reason.ACTION)
    clock.advance(timedelta(days=40))
    await service.credit(m.id, 20, Reason.ACTION)
    # when the first lot is 30 days from expiry
    clock.advance(timedelta(days=365 - 40 - 30))  # first lot is 30 days from expiry
    # then those 10 are expiring soon
    assert (await points(api, "e2"))["pointsExpiringSoon"] == 10
    # and when the second lot is too, all 30 are
    clock.advance(timedelta(days=40))
    assert (await points(api, "e2"))["pointsExpiringSoon"] == 30


async def test_points_never_expire_when_expiry_is_off(api: Api) -> None:
    clock.freeze(T0)
    # given points that never expire, and a member's 10 points
    await api.admin(
        "mutation { updateProgram(input: {pointsExpiryDays: null}) { errors { code } } }"
    )
    m = await factories.member(external_id="e3")
    await service.credit(m.id, 10, Reason.ACTION)
    # when ten years pass and the expiry job runs
    clock.advance(timedelta(days=3650))
    # then nothing expires
    assert await jobs.expire_points() == 0
    assert (await points(api, "e3"))["pointsBalance"] == 10


async def test_expiry_takes_the_pending_part_of_an_expired_lot_too(api: Api) -> None:
    clock.freeze(T0)
    # given points that expire after 5 days and wait 10 days pending
    await api.admin(
        "mutation { updateProgram(input: {pointsExpiryDays: 5, pointsPendingDays: 10}) "
        "{ errors { code } } }"
    )
    # and a member's pending lot of 10
    m = await factories.member(external_id="e4")
    await service.credit(m.id, 10, Reason.ORDER, pending_days=10)
    # when it expires before it is available
    clock.advance(timedelta(days=6))
    assert await jobs.expire_points() == 1
    # and the pending days pass
    clock.advance(timedelta(days=6))
    await jobs.mature_pending()
    # then nothing is left of it, pending or available, and the books balance
    p = await points(api, "e4")
    assert (p["pointsBalance"], p["pendingPoints"]) == (0, 0)
    assert await Lot.filter(member_id=m.id, remaining__gt=0).count() == 0
    await assert_books_balance()


async def test_history_is_newest_first_with_cursor_pagination(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    # given a member's welcome, action and voucher entries
    m = await factories.member(external_id="h1")
    await service.credit(m.id, 5, Reason.WELCOME, description="welcome")
    await service.credit(m.id, 7, Reason.ACTION)
    await service.debit(m.id, 3, Reason.VOUCHER, description="voucher V1")
    # when they read their history
    token = factories.token_for(m, settings)
    page = (await api(HISTORY, token=token))["pointsHistory"]
    # then it is newest first, a page at a time
    assert [e["node"]["points"] for e in page["edges"]] == [-3, 7]
    assert page["edges"][0]["node"]["reason"] == "VOUCHER"
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await api(HISTORY, {"after": page["pageInfo"]["endCursor"]}, token=token))[
        "pointsHistory"
    ]
    assert [e["node"]["points"] for e in rest["edges"]] == [5]
    assert rest["edges"][0]["node"]["description"] == "welcome"
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][0]["cursor"]}
    # and a cursor not made here is INVALID_INPUT
    bad = await api.raw('{ pointsHistory(after: "zzz") { edges { cursor } } }', token=token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_history_hides_internal_moves_between_pending_and_available(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # given a member's pending order points, matured two days later
    clock.freeze(T0)
    m = await factories.member(external_id="h2")
    await service.credit(m.id, 9, Reason.ORDER, pending_days=1, order_id="o-h2")
    clock.advance(timedelta(days=2))
    await jobs.mature_pending()
    # when they read their history
    page = (await api(HISTORY, token=factories.token_for(m, settings)))["pointsHistory"]
    # then the order is one entry, with when it became available
    assert [(e["node"]["points"], e["node"]["orderId"]) for e in page["edges"]] == [(9, "o-h2")]
    assert page["edges"][0]["node"]["availableAt"].startswith("2026-01-11")


async def test_audit_is_admin_only(api: Api) -> None:
    """Given the integration key, when it reads the ledger audit, then it is FORBIDDEN."""
    body = await api.raw("{ ledgerAudit { balanced } }", token="test-integration-key")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_ledger_jobs_run_from_the_job_registry_twice_without_double_effect() -> None:
    # given the job registry, and a member's points: a lot a year old and a pending one
    from server import jobs as server_jobs

    clock.freeze(T0)
    m = await factories.member()
    await service.credit(m.id, 10, Reason.ACTION)
    clock.advance(timedelta(days=1))
    await service.credit(m.id, 4, Reason.ORDER, pending_days=2)
    clock.advance(timedelta(days=364))
    # when every job runs twice
    first = await server_jobs.run_all()
    second = await server_jobs.run_all()
    # then the first run matures and expires once each, the second does nothing
    assert (first["ledger.mature_pending"], first["ledger.expire_points"]) == (1, 1)
    assert (second["ledger.mature_pending"], second["ledger.expire_points"]) == (0, 0)
    assert (await service.balance_of(m.id)).available == 4
    await assert_books_balance()


async def test_refund_after_expiry_does_not_take_the_expired_points_again(api: Api) -> None:
    # given an order of 1,000,000 VND (50 points), 20 of them spent, the other 30 expired
    clock.freeze(T0)
    await factories.member(external_id="e-ref")
    await record(api, "e-ref-o1", "e-ref", "1000000")
    await redeem(api, "e-ref", 20, "e-ref-spend")
    clock.advance(timedelta(days=366))
    assert await jobs.expire_points() == 1
    assert (await points(api, "e-ref"))["pointsBalance"] == 0
    # when the whole order is refunded
    result = await refund(api, "e-ref-o1", "e-ref-r1")
    # then only the 20 spent points are clawed back (the balance owes them), not the 30
    assert result["pointsReversed"] == 20
    assert (await points(api, "e-ref"))["pointsBalance"] == -20
    assert (await audit(api))["balanced"] is True
