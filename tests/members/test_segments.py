"""Segments through the API: every rule, AND-combination, fixed lists, exact counts."""

from __future__ import annotations

from datetime import date, timedelta

from core import clock
from engage import rfm
from members import segments
from members.segment_models import Segment
from tests.conftest import Api
from tests.engage import factories as f

SEGMENT_MEMBERS = """query($id: ID!) { segments { id name memberCount
  members(first: 50) { totalCount edges { node { externalId } } } }
  members(segmentId: $id, first: 50) { totalCount edges { node { externalId } } } }"""


async def members_of(api: Api, segment_id: str) -> tuple[int, set[str], set[str]]:
    """(memberCount, Segment.members, members(segmentId)) of one segment."""
    data = await api.admin(SEGMENT_MEMBERS, {"id": segment_id})
    seg = next(s for s in data["segments"] if s["id"] == segment_id)
    listed = {e["node"]["externalId"] for e in seg["members"]["edges"]}
    filtered = {e["node"]["externalId"] for e in data["members"]["edges"]}
    assert seg["members"]["totalCount"] == seg["memberCount"] == data["members"]["totalCount"]
    return seg["memberCount"], listed, filtered


async def test_june_birthday_segment_counts_exactly_the_june_members(api: Api) -> None:
    # given members born in June, May, July, and one without a birthday
    await f.member(external_id="jun-1", birthday=date(1990, 6, 1))
    await f.member(external_id="jun-30", birthday=date(1985, 6, 30))
    await f.member(external_id="may-31", birthday=date(1990, 5, 31))
    await f.member(external_id="jul-1", birthday=date(1990, 7, 1))
    await f.member(external_id="none")
    # when the admin creates a June-birthday segment
    seg = await f.segment(api, "June birthdays", birthdayMonth=6)
    # then it counts and lists exactly the June members
    assert seg["memberCount"] == 2
    count, listed, filtered = await members_of(api, seg["id"])
    assert count == 2 and listed == filtered == {"jun-1", "jun-30"}


async def test_member_count_is_exact_at_query_time(api: Api) -> None:
    # given a June-birthday segment of nobody
    seg = await f.segment(api, "June", birthdayMonth=6)
    assert seg["memberCount"] == 0
    # when a June member enrols after the segment was made
    await f.june_member(external_id="late-june")
    # then the segment counts them at once
    count, listed, _ = await members_of(api, seg["id"])
    assert count == 1 and listed == {"late-june"}


async def test_tags_rule_matches_any_listed_tag_and_rules_combine_with_and(api: Api) -> None:
    # given June members tagged vip, hcm or nothing, a May vip, and a tag with a quote
    await f.june_member(external_id="june-vip", tags=["vip"])
    await f.june_member(external_id="june-hcm", tags=["hcm", "new"])
    await f.june_member(external_id="june-plain")
    await f.member(external_id="may-vip", birthday=date(1990, 5, 2), tags=["vip"])
    await f.member(external_id="quote", tags=["it's"])
    # when segments by tag, and by tag and month, are made
    tagged = await f.segment(api, "VIP or HCM", tags=["vip", "hcm"])
    both = await f.segment(api, "June VIP or HCM", tags=["vip", "hcm"], birthdayMonth=6)
    quoted = await f.segment(api, "Quote", tags=["it's"])
    # then a tag rule matches any listed tag, and rules combine with AND
    assert (await members_of(api, tagged["id"]))[1] == {"june-vip", "june-hcm", "may-vip"}
    assert (await members_of(api, both["id"]))[1] == {"june-vip", "june-hcm"}
    assert (await members_of(api, quoted["id"]))[1] == {"quote"}


async def test_tier_rule_matches_holders_of_the_listed_tiers(api: Api) -> None:
    # given tiers Member 0, Silver 100, Gold 300 (tier point = 20,000 VND)
    await f.tier("MEMBER", 0)
    await f.tier("SILVER", 100)
    await f.tier("GOLD", 300)
    # and members reaching Gold, Silver, and neither
    gold = await f.member(external_id="gold")
    silver = await f.member(external_id="silver")
    await f.member(external_id="starter")
    await f.order(gold, 6_000_000)
    await f.order(silver, 2_000_000)
    # when segments by tier are made
    gold_seg = await f.segment(api, "Gold", tierCodes=["GOLD"])
    upper = await f.segment(api, "Silver and Gold", tierCodes=["SILVER", "GOLD"])
    start = await f.segment(api, "Starters", tierCodes=["MEMBER"])
    unknown = await f.segment(api, "Nobody", tierCodes=["PLATINUM"])
    # then each tier rule selects its holders; the starting tier holds everyone else
    assert (await members_of(api, gold_seg["id"]))[1] == {"gold"}
    assert (await members_of(api, upper["id"]))[1] == {"gold", "silver"}
    assert (await members_of(api, start["id"]))[1] == {"starter"}
    assert (await members_of(api, unknown["id"]))[0] == 0


async def test_min_lifetime_points_rule(api: Api) -> None:
    # given orders earning 50 and 49 points (5% of the amount at 1,000 VND a point)
    rich = await f.member(external_id="fifty")
    poor = await f.member(external_id="forty-nine")
    await f.member(external_id="zero")
    await f.order(rich, 1_000_000)
    await f.order(poor, 980_000)
    # when segments of 50 and 0 lifetime points are made
    fifty = await f.segment(api, "50+", minLifetimePoints=50)
    anyone = await f.segment(api, "0+", minLifetimePoints=0)
    # then 50 takes the member with 50 only; 0 takes everyone
    assert (await members_of(api, fifty["id"]))[1] == {"fifty"}
    assert (await members_of(api, anyone["id"]))[0] == 3


async def test_inactive_days_counts_old_orders_and_never_ordered(api: Api) -> None:
    # given members whose last counted order is 31 days old, 29 days old, none at all,
    # and one whose recent order was refunded in full
    clock.freeze(f.NOON_LOCAL)
    old = await f.member(external_id="old")
    recent = await f.member(external_id="recent")
    refunded = await f.member(external_id="refunded-recently")
    await f.member(external_id="never")
    await f.order(old, 500_000, clock.now() - timedelta(days=31))
    await f.order(recent, 500_000, clock.now() - timedelta(days=29))
    await f.order(refunded, 500_000, clock.now() - timedelta(days=40))
    from rewards.orders.service import refund_order

    late = await f.order(refunded, 500_000, clock.now() - timedelta(days=1))
    await refund_order(late.order_id, "r-1", None)
    # when a segment of 30 inactive days is made
    seg = await f.segment(api, "Lapsed", inactiveDays=30)
    # then "no counted order in 30 days" is the old, the never and the refunded one
    assert (await members_of(api, seg["id"]))[1] == {"old", "never", "refunded-recently"}
    # and as the clock moves on, the recent buyer lapses too
    clock.advance(timedelta(days=2))
    assert (await members_of(api, seg["id"]))[1] == {
        "old",
        "never",
        "refunded-recently",
        "recent",
    }


async def test_rfm_segment_rule(api: Api) -> None:
    # given five buyers, from rare and long ago to frequent and recent, scored by RFM
    clock.freeze(f.NOON_LOCAL)
    for n in range(5):
        m = await f.member(external_id=f"buyer-{n}")
        for k in range(n + 1):
            await f.order(m, 100_000 * (n + 1), clock.now() - timedelta(days=50 * (4 - n) + k))
    await rfm.recompute()
    # when segments of RFM segments are made (in any case)
    champions = await f.segment(api, "Champions", rfmSegments=["CHAMPIONS"])
    sleepy = await f.segment(api, "Sleepy", rfmSegments=["hibernating", "AT_RISK"])
    # then each takes the members scored so
    assert (await members_of(api, champions["id"]))[1] == {"buyer-4", "buyer-3"}
    assert (await members_of(api, sleepy["id"]))[1] == {"buyer-0", "buyer-1"}


async def test_fixed_list_segment_and_unknown_ids_are_named(api: Api) -> None:
    # given three members
    await f.member(external_id="a-1")
    await f.member(external_id="a-2")
    await f.member(external_id="a-3")
    # when the list names unknown members
    bad = await api.admin(
        f.CREATE_SEGMENT,
        {"input": {"name": "Import", "memberExternalIds": ["a-1", "ghost-1", "ghost-2"]}},
    )
    # then INVALID_INPUT names them and no segment is made
    error = bad["createSegment"]["errors"][0]
    assert error["code"] == "INVALID_INPUT" and error["field"] == ["input", "memberExternalIds"]
    assert "ghost-1" in error["message"] and "ghost-2" in error["message"]
    assert "a-1" not in error["message"]
    assert await Segment.all().count() == 0
    # and a list of known members makes a segment of exactly them
    good = await api.admin(
        f.CREATE_SEGMENT, {"input": {"name": "Import", "memberExternalIds": ["a-1", "a-3", "a-1"]}}
    )
    seg = good["createSegment"]["segment"]
    assert seg["memberCount"] == 2
    assert (await members_of(api, seg["id"]))[1] == {"a-1", "a-3"}


async def test_bad_segment_input_names_the_field_and_writes_nothing(api: Api) -> None:
    # given segment inputs each wrong in one field
    cases = [
        ({"name": "x", "rules": {"birthdayMonth": 13}}, ["input", "rules", "birthdayMonth"]),
        ({"name": "x", "rules": {"inactiveDays": 0}}, ["input", "rules", "inactiveDays"]),
        (
            {"name": "x", "rules": {"minLifetimePoints": -1}},
            ["input", "rules", "minLifetimePoints"],
        ),
        ({"name": "x", "rules": {"rfmSegments": ["WHALES"]}}, ["input", "rules", "rfmSegments"]),
        ({"name": "x", "rules": {"tags": []}}, ["input", "rules", "tags"]),
        ({"name": "x"}, ["input", "rules"]),
        ({"name": "x", "rules": {}, "memberExternalIds": ["a"]}, ["input", "rules"]),
        ({"name": "  ", "rules": {}}, ["input", "name"]),
    ]
    # when an admin creates each
    for given, field in cases:
        payload = (await api.admin(f.CREATE_SEGMENT, {"input": given}))["createSegment"]
        # then each is INVALID_INPUT naming that field, and nothing is written
        assert payload["segment"] is None, given
        assert payload["errors"][0]["code"] == "INVALID_INPUT", given
        assert payload["errors"][0]["field"] == field, given
    assert await Segment.all().count() == 0
    # and a name taken already is ALREADY_EXISTS
    await f.segment(api, "Everyone")
    again = (await api.admin(f.CREATE_SEGMENT, {"input": {"name": "Everyone", "rules": {}}}))[
        "createSegment"
    ]
    assert again["errors"][0]["code"] == "ALREADY_EXISTS"


async def test_contains_answers_for_one_member(api: Api) -> None:
    # given a June member, a May member, a June segment, and a list of the May member
    june = await f.june_member()
    may = await f.member(birthday=date(1990, 5, 1))
    seg = await f.segment(api, "June", birthdayMonth=6)
    listed = (
        await api.admin(
            f.CREATE_SEGMENT, {"input": {"name": "List", "memberExternalIds": [may.external_id]}}
        )
    )["createSegment"]["segment"]
    # when each segment is asked whether it holds each member
    # then it answers for that one member, and no segment holds anyone
    assert await segments.contains(int(seg["id"]), june.id) is True
    assert await segments.contains(int(seg["id"]), may.id) is False
    assert await segments.contains(int(listed["id"]), may.id) is True
    assert await segments.contains(int(listed["id"]), june.id) is False
    assert await segments.contains(999_999, june.id) is False


async def test_segments_are_admin_only(api: Api, settings: object) -> None:
    # given the integration key
    # when it lists the segments
    body = await api.raw("{ segments { id } }", token="test-integration-key")
    # then it is FORBIDDEN
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and the member list of an unknown segment is NOT_FOUND
    body = await api.raw('{ members(segmentId: "12345") { totalCount } }', token="test-admin-key")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
