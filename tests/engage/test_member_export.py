"""exportMemberData: everything held about the member, as one JSON document."""

from __future__ import annotations

from core.settings import Settings
from tests import factories
from tests.conftest import ADMIN_KEY, INTEGRATION_KEY, Api
from tests.engage.factories import NPS_COMMENT, tell
from tests.members.care_api import EXPORT


async def test_a_member_exports_everything_held_about_them(api: Api, settings: Settings) -> None:
    # given a member with a whole history
    story = await tell(api, settings)
    # when they export their data
    payload = (await api(EXPORT, {}, token=story.token))["exportMemberData"]
    assert payload["errors"] == []
    data = payload["data"]
    # then every section is there, with their own data
    assert set(data) >= {
        "profile",
        "consents",
        "consentChanges",
        "profileChanges",
        "points",
        "ledgerEntries",
        "tier",
        "tierChanges",
        "orders",
        "vouchers",
        "missions",
        "badges",
        "stampCards",
        "spins",
        "actions",
        "messages",
        "nps",
        "referrals",
    }
    profile = data["profile"]
    assert (profile["externalId"], profile["displayName"], profile["phone"]) == (
        "care-1",
        "Nguyễn Thị Lan",
        "0912345678",
    )
    assert profile["cardCode"] == story.member.card_code
    assert [c["channel"] for c in data["consents"] if c["granted"]] == ["PUSH", "SMS"]
    assert data["consentChanges"][0]["channel"] == "SMS"
    assert data["profileChanges"][0]["diff"] == {
        "phone": {"old": "0901234567", "new": "0912345678"}
    }
    first, second = data["orders"]
    assert first["orderId"] == "HD-1001" and first["status"] == "PARTIALLY_REFUNDED"
    assert [r["refundId"] for r in first["refunds"]] == ["R-1"]
    assert second["orderId"] == "HD-1002" and second["refunds"] == []
    assert sum(e["delta"] for e in data["ledgerEntries"]) == data["points"]["available"]
    assert data["points"]["available"] == 50 + 17 - 5 + 300 - 95 + 10
    assert data["tier"]["code"] == "GOLD"
    assert [(c["fromCode"], c["toCode"]) for c in data["tierChanges"]] == [("MEMBER", "GOLD")]
    assert data["vouchers"][0]["code"] == story.voucher_code
    assert data["vouchers"][0]["offerName"] == "Giảm 50.000 ₫"
    assert data["missions"][0]["missionTitle"] == "Viết một đánh giá"
    assert data["badges"][0]["badgeCode"] == "reviewer"
    assert {m["kind"] for m in data["messages"]} == {"WELCOME", "TIER_UP", "MISSION_COMPLETED"}
    assert data["nps"] == [
        {"score": 9, "comment": NPS_COMMENT, "createdAt": data["nps"][0]["createdAt"]}
    ]
    assert {a["actionType"] for a in data["actions"]} == {"order", "review.posted"}


async def test_admins_export_any_member_others_may_not(api: Api, settings: Settings) -> None:
    # given two members
    a = await factories.member(external_id="ex-1", display_name="Võ Thị Sáu")
    b = await factories.member(external_id="ex-2")
    # when an admin exports one
    by_admin = (await api(EXPORT, {"e": "ex-1"}, token=ADMIN_KEY))["exportMemberData"]
    # then it is their data
    assert by_admin["data"]["profile"]["displayName"] == "Võ Thị Sáu"
    # and without a member the export is INVALID_INPUT
    missing = (await api(EXPORT, {}, token=ADMIN_KEY))["exportMemberData"]
    assert missing["errors"][0]["code"] == "INVALID_INPUT"
    # and the integration key, or another member, may not export it
    integration = await api.raw(EXPORT, {"e": "ex-1"}, token=INTEGRATION_KEY)
    assert integration["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await api(EXPORT, {"e": "ex-1"}, token=factories.token_for(b, settings))
    assert other["exportMemberData"]["errors"][0]["code"] == "FORBIDDEN"
    assert other["exportMemberData"]["data"] is None
    assert a.id != b.id
