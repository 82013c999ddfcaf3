"""careHistory and npsResponses: the staff's view of the whole relationship with a member."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import clock
from core.settings import Settings
from engage import background, care_history
from tests import factories
from tests.conftest import ADMIN_KEY, Api
from tests.engage.factories import NPS, NPS_COMMENT, STORY_T0, tell
from tests.members.care_api import HISTORY, NPS_OF, history
from tests.statements import counting

ALL_KINDS = {k.value for k in care_history.CareEventKind}


def at(hours: int) -> str:
    return (STORY_T0 + timedelta(hours=hours)).isoformat()


async def test_the_history_tells_the_whole_relationship_newest_first(
    api: Api, settings: Settings
) -> None:
    # given a member who enrolled, ordered, was edited, consented, got a refund, rose a
    # tier, claimed and used a voucher, completed a mission with a badge and answered NPS
    story = await tell(api, settings)
    # when a care agent reads the history
    page = await history(api, "care-1")
    events = [e["node"] for e in page["edges"]]
    # then every kind of event is there, newest first, one line each in Vietnamese
    assert {e["kind"] for e in events} == ALL_KINDS
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times, reverse=True)
    assert page["pageInfo"]["hasNextPage"] is False
    lines = [(e["kind"], e["at"], e["summary"]) for e in events]
    code = story.voucher_code
    assert lines == [
        ("NPS", at(9), f"Chấm điểm NPS 9/10: “{NPS_COMMENT}”"),
        ("POINTS", at(8), "+10 điểm: thưởng nhiệm vụ, hết hạn 20/11/2027"),
        ("MISSION", at(8), "Hoàn thành nhiệm vụ “Viết một đánh giá”"),
        ("MESSAGE", at(8), "Đã gửi tin “Hoàn thành nhiệm vụ”"),
        ("BADGE", at(8), "Nhận huy hiệu “Người đánh giá”"),
        ("VOUCHER", at(7), f"Dùng voucher {code} cho đơn HD-1003, giảm 50.000 ₫"),
        (
            "VOUCHER",
            at(6),
            f"Nhận voucher “Giảm 50.000 ₫” (mã {code}), đổi 95 điểm, hạn dùng 20/12/2026",
        ),
        ("POINTS", at(6), "-95 điểm: đổi voucher"),
        ("TIER_CHANGED", at(5), "Lên hạng Gold (từ Member)"),
        ("POINTS", at(5), "+300 điểm: tích điểm đơn hàng HD-1002, hết hạn 20/11/2027"),
        ("ORDER", at(5), "Đơn hàng HD-1002: 6.000.000 ₫, +300 điểm"),
        ("MESSAGE", at(5), "Đã gửi tin “Chúc mừng bạn lên hạng Gold”"),
        ("REFUND", at(4), "Hoàn tiền đơn HD-1001: 100.000 ₫, -5 điểm"),
        ("POINTS", at(4), "-5 điểm: trừ điểm do hoàn tiền HD-1001"),
        ("CONSENT", at(3), "Đồng ý nhận tin qua SMS (bởi thành viên)"),
        (
            "PROFILE_UPDATED",
            at(2),
            "Cập nhật hồ sơ: số điện thoại 0901234567 → 0912345678 (bởi nhân viên cửa hàng)",
        ),
        ("POINTS", at(1), "+17 điểm: tích điểm đơn hàng HD-1001, hết hạn 20/11/2027"),
        ("ORDER", at(1), "Đơn hàng HD-1001: 345.000 ₫, +17 điểm (đã hoàn 100.000 ₫)"),
        ("POINTS", at(0), "+50 điểm: điểm chào mừng, hết hạn 20/11/2027"),
        ("MESSAGE", at(0), f"Đã gửi tin “Chào mừng {story.member.display_name}!”"),
        ("ENROLLED", at(0), "Tham gia chương trình thành viên"),
    ]
    # and each carries its facts as JSON
    by_summary = {e["summary"]: e["data"] for e in events}
    order = by_summary["Đơn hàng HD-1001: 345.000 ₫, +17 điểm (đã hoàn 100.000 ₫)"]
    assert order["orderId"] == "HD-1001" and order["status"] == "PARTIALLY_REFUNDED"
    assert order["amount"].startswith("345000") and order["pointsEarned"] == 17
    consent = by_summary["Đồng ý nhận tin qua SMS (bởi thành viên)"]
    assert consent == {"channel": "SMS", "granted": True, "by": "MEMBER"}
    profile = next(e["data"] for e in events if e["kind"] == "PROFILE_UPDATED")
    assert profile["changes"] == {"phone": {"old": "0901234567", "new": "0912345678"}}
    nps = next(e["data"] for e in events if e["kind"] == "NPS")
    assert nps == {"score": 9, "comment": NPS_COMMENT}


async def test_pages_follow_the_cursor_without_gaps_or_repeats(
    api: Api, settings: Settings
) -> None:
    # given a member's whole story, 21 events
    await tell(api, settings)
    # when staff walk it three events a page
    whole = [e["node"] for e in (await history(api, "care-1"))["edges"]]
    walked: list[dict[str, Any]] = []
    after = None
    while True:
        page = await history(api, "care-1", first=3, after=after)
        walked += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then they see it all, in order, each event once
    assert walked == whole and len(whole) == 21


async def test_kinds_filter_the_feed(api: Api, settings: Settings) -> None:
    # given a member's whole story
    await tell(api, settings)
    # when staff ask for some kinds only
    money = await history(api, "care-1", kinds=["ORDER", "REFUND"])
    # then they get those kinds only; none for no kinds
    assert [e["node"]["kind"] for e in money["edges"]] == ["ORDER", "REFUND", "ORDER"]
    vouchers = await history(api, "care-1", kinds=["VOUCHER"])
    assert [e["node"]["data"]["event"] for e in vouchers["edges"]] == ["USED", "CLAIMED"]
    nothing = await history(api, "care-1", kinds=[])
    assert nothing["edges"] == [] and nothing["pageInfo"]["hasNextPage"] is False


async def test_a_page_is_one_statement_whatever_its_size(api: Api, settings: Settings) -> None:
    # given a member's whole story
    await tell(api, settings)
    await background.drain()  # pushes kicked by the story's notices are not this request's

    async def statements(first: int) -> int:
        with counting() as found:
            page = await history(api, "care-1", first=first)
        assert len(page["edges"]) == min(first, 21)
        return found.count

    # when pages of 2, 20 and 100 events are read
    # then each costs the same statements
    assert 0 < await statements(2) == await statements(20) == await statements(100)
    # and the history itself is ONE statement: the UNION ALL of every source
    with counting() as found:
        await care_history.page(1, 50, None)
    union = [t for t in found.texts if "UNION ALL" in t]
    assert len(union) == 1


async def test_bad_arguments_and_members_are_refused(api: Api, settings: Settings) -> None:
    # given a member's whole story
    story = await tell(api, settings)
    # when staff page with a bad size or cursor
    for variables in ({"f": 101}, {"f": 5, "a": "bm90LWEtY3Vyc29y"}, {"f": 5, "a": "!!"}):
        body = await api.raw(HISTORY, {"e": "care-1", **variables}, token=ADMIN_KEY)
        # then each is INVALID_INPUT
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", variables
    # and when the member asks for their own care history and NPS answers, that is FORBIDDEN
    mine = await api.raw("{ me { careHistory { edges { cursor } } } }", token=story.token)
    assert mine["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    answers = await api.raw("{ me { npsResponses { score } } }", token=story.token)
    assert answers["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_nps_responses_list_the_comments_newest_first(api: Api, settings: Settings) -> None:
    # given a member who answered twice, 100 days apart
    clock.freeze(STORY_T0)
    m = await factories.member(external_id="nps-1")
    token = factories.token_for(m, settings, timedelta(days=200))
    await api(NPS, {"s": 4, "c": "Nhân viên chưa thân thiện"}, token=token)
    clock.advance(timedelta(days=100))
    await api(NPS, {"s": 10, "c": None}, token=token)
    # when staff read the answers
    found = (await api.integration(NPS_OF, {"e": "nps-1", "f": 20}))["member"]["npsResponses"]
    # then the newest comes first, comments as written
    assert found == [
        {"score": 10, "comment": None, "createdAt": (STORY_T0 + timedelta(days=100)).isoformat()},
        {"score": 4, "comment": "Nhân viên chưa thân thiện", "createdAt": STORY_T0.isoformat()},
    ]
    one = (await api.admin(NPS_OF, {"e": "nps-1", "f": 1}))["member"]["npsResponses"]
    assert [a["score"] for a in one] == [10]
