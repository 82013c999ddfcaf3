"""The tier.at_risk notice: once per review period, to members at risk only, in Vietnamese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import clock
from core.settings import Settings
from engage import tier_at_risk
from engage.models import Notification
from rewards.tiers import service as tiers
from server import jobs
from tests import factories
from tests.conftest import Api
from tests.engage.factories import INBOX
from tests.rewards.factories import enrol, order, standard_tiers

T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


async def test_members_at_risk_hear_what_keeps_their_tier_once_per_review(
    api: Api, settings: Settings
) -> None:
    # given a Gold member whose 300 points leave the window in a year, with 50 earned later,
    # a Gold member who keeps earning (room to spare), and a newcomer
    await standard_tiers()
    clock.freeze(T0)
    risky = await enrol(external_id="risk-1")
    await order(risky, 6_000_000)
    safe = await enrol(external_id="risk-2")
    await order(safe, 2_000_000)
    await enrol(external_id="risk-3")
    clock.advance(timedelta(days=10))
    await order(safe, 6_000_000)
    clock.advance(timedelta(days=190))
    await order(risky, 1_000_000)
    await order(safe, 6_000_000)
    # when the job runs a day before the window moves
    clock.freeze(T0 + YEAR - timedelta(days=1))
    assert await tier_at_risk.notify_at_risk() == 1
    # then only the member at risk has the notice: how much, by when, the spend it takes
    long_token = factories.token_for(risky, settings, timedelta(days=60))
    notice, tier_up, *_ = (await api(INBOX, token=long_token))["myNotifications"]
    assert tier_up["title"] == "Chúc mừng bạn lên hạng Gold"
    assert notice["title"] == "Giữ hạng Gold"
    assert notice["body"] == (
        "Tích thêm 250 điểm hạng (mua sắm khoảng 5.000.000 ₫) trước ngày 10/01/2027 "
        "để giữ hạng Gold."
    )
    assert notice["deepLink"] == "tier"
    assert await Notification.filter(member_id=safe.id, kind="TIER_AT_RISK").count() == 0
    # and running it again in the same review period sends nothing more
    assert await tier_at_risk.notify_at_risk() == 0
    # when the points leave and grace starts, a new review period begins, but a notice
    # went out yesterday: the member is not told again within the week
    clock.freeze(T0 + YEAR + timedelta(hours=1))
    await tiers.review_tiers()
    assert await tier_at_risk.notify_at_risk() == 0
    # a week later they hear the new deadline: the end of grace
    clock.advance(timedelta(days=7))
    assert await tier_at_risk.notify_at_risk() == 1
    latest = await Notification.filter(member_id=risky.id).order_by("-id").first()
    assert latest is not None and latest.kind == "TIER_AT_RISK"
    assert "trước ngày 09/02/2027" in latest.body
    assert await tier_at_risk.notify_at_risk() == 0


async def test_the_notice_job_is_registered() -> None:
    """Given the jobs table, then the tier-at-risk notice is one of its jobs."""
    assert "tiers.at_risk" in jobs.JOBS
