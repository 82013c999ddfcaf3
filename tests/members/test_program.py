"""Program settings: defaults, validated updates, clearing nullable settings."""

from __future__ import annotations

from typing import Any

import pytest

from members.models import Program
from tests.conftest import INTEGRATION_KEY, Api

PROGRAM_FIELDS = """
  name currency timezone pointValue earnRatePercent referralRatePercent referralWindowDays
  referralMaxPerMember referralWelcomePoints tierPointUnit tierWindow tierGraceDays
  welcomePoints birthdayPoints pointsPendingDays pointsExpiryDays issuanceBudgetRemaining
  quietHoursStart quietHoursEnd maxNotificationsPerWeek
"""

UPDATE = f"""
mutation($input: ProgramInput!) {{
  updateProgram(input: $input) {{
    program {{ {PROGRAM_FIELDS} }}
    errors {{ code message field }}
  }}
}}"""
READ = f"{{ program {{ {PROGRAM_FIELDS} }} }}"

DEFAULTS = {
    "name": "Loyalty",
    "currency": "VND",
    "timezone": "Asia/Ho_Chi_Minh",
    "pointValue": "1000",
    "earnRatePercent": "5",
    "referralRatePercent": "2",
    "referralWindowDays": 90,
    "referralMaxPerMember": None,
    "referralWelcomePoints": 0,
    "tierPointUnit": "20000",
    "tierWindow": "ROLLING_YEAR",
    "tierGraceDays": 30,
    "welcomePoints": 0,
    "birthdayPoints": 0,
    "pointsPendingDays": 0,
    "pointsExpiryDays": 365,
    "issuanceBudgetRemaining": "10000000000",
    "quietHoursStart": "21:00",
    "quietHoursEnd": "08:00",
    "maxNotificationsPerWeek": 3,
}


def normalized(program: dict[str, Any]) -> dict[str, Any]:
    """Decimals may come back as "5" or "5.0000" depending on the database."""
    out = dict(program)
    for name in ("pointValue", "earnRatePercent", "referralRatePercent", "tierPointUnit"):
        out[name] = format(float(out[name]), "g")
    return out


async def program_row() -> dict[str, Any]:
    row = await Program.get(id=1)
    return {k: v for k, v in row.__dict__.items() if not k.startswith("_")}


async def test_a_new_program_has_the_documented_defaults(api: Api) -> None:
    # given a fresh database
    # when anyone signed in reads the program
    data = await api.integration(READ)
    # then every setting has its documented default
    assert normalized(data["program"]) == DEFAULTS


async def test_admin_updates_settings_and_they_persist(api: Api) -> None:
    # given an admin's changes to several settings
    changes = {
        "name": "Cà Phê Sữa Club",
        "timezone": "Asia/Bangkok",
        "earnRatePercent": "7.5",
        "referralMaxPerMember": 10,
        "tierWindow": "LIFETIME",
        "pointsPendingDays": 14,
        "quietHoursStart": "22:30",
        "maxNotificationsPerWeek": 5,
    }
    # when they are sent
    result = (await api.admin(UPDATE, {"input": changes}))["updateProgram"]
    # then they are kept, and the program reads back the defaults with them
    assert result["errors"] == []
    again = normalized((await api.admin(READ))["program"])
    assert again == normalized(
        DEFAULTS | changes | {"earnRatePercent": "7.5", "pointValue": "1000"}
    )


INVALID = [
    ("earnRatePercent", "100.01"),
    ("earnRatePercent", "-1"),
    ("referralRatePercent", "101"),
    ("referralWindowDays", -1),
    ("referralMaxPerMember", -3),
    ("referralWelcomePoints", -10),
    ("tierGraceDays", -1),
    ("welcomePoints", -1),
    ("birthdayPoints", -5),
    ("pointsPendingDays", -1),
    ("pointsExpiryDays", -30),
    ("pointsExpiryDays", 0),
    ("maxNotificationsPerWeek", -1),
    ("timezone", "Mars/Olympus_Mons"),
    ("timezone", "GMT+7"),
    ("quietHoursStart", "24:00"),
    ("quietHoursStart", "9:00"),
    ("quietHoursEnd", "08:60"),
    ("quietHoursEnd", "eight"),
    ("name", "   "),
    ("name", "x" * 101),
    ("currency", "VN"),
    ("pointValue", "0"),
    ("pointValue", "1e15"),
    ("tierPointUnit", "-20000"),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
async def test_bad_setting_is_invalid_input_naming_the_field_and_writes_nothing(
    api: Api, field: str, value: Any
) -> None:
    # given the default program
    before = await program_row()
    # when an admin sends one bad value alongside a good one
    result = (await api.admin(UPDATE, {"input": {"welcomePoints": 50} | {field: value}}))[
        "updateProgram"
    ]
    # then it is refused naming the field, and nothing changed (not even the good value)
    assert result["program"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert await program_row() == before


async def test_unknown_tier_window_is_refused_by_the_schema_and_writes_nothing(api: Api) -> None:
    # given the program as it is
    before = await program_row()
    # when an admin sends a tier window the schema does not know
    body = await api.raw(UPDATE, {"input": {"tierWindow": "WEEKLY"}}, token="test-admin-key")
    # then it is refused as INVALID_INPUT naming it, and nothing is written
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "tierWindow" in body["errors"][0]["message"]
    assert await program_row() == before


async def test_explicit_null_clears_nullable_settings_and_omission_keeps_them(api: Api) -> None:
    # given settings with values
    await api.admin(UPDATE, {"input": {"referralMaxPerMember": 4}})
    # when an admin sends explicit nulls for the nullable ones and omits the rest
    cleared = {
        "referralMaxPerMember": None,
        "pointsExpiryDays": None,
        "quietHoursStart": None,
        "quietHoursEnd": None,
        "maxNotificationsPerWeek": None,
    }
    result = (await api.admin(UPDATE, {"input": cleared}))["updateProgram"]
    # then those are cleared and the others are untouched
    assert result["errors"] == []
    assert normalized(result["program"]) == normalized(DEFAULTS | cleared)
    row = await Program.get(id=1)
    assert row.points_expiry_days is None and row.quiet_hours_start is None


async def test_null_for_a_required_setting_changes_nothing(api: Api) -> None:
    # given the default program
    # when an admin sends null for required settings
    result = (await api.admin(UPDATE, {"input": {"name": None, "welcomePoints": None}}))[
        "updateProgram"
    ]
    # then nothing changes
    assert result["errors"] == []
    assert normalized(result["program"]) == DEFAULTS


async def test_only_admins_update_the_program(api: Api) -> None:
    # given the program as it is
    before = await program_row()
    # when the integration key or an anonymous caller changes it
    body = await api.raw(UPDATE, {"input": {"name": "Hacked"}}, token=INTEGRATION_KEY)
    # then it is refused, and nothing is written
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.raw(UPDATE, {"input": {"name": "Hacked"}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await program_row() == before


async def test_program_needs_a_credential(api: Api) -> None:
    """Given no credential, when the program is read, then it is UNAUTHENTICATED."""
    body = await api.raw("{ program { name } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


WINDOWS = """mutation($input: ProgramInput!) { updateProgram(input: $input) {
  program { quietHoursStart quietHoursEnd quietWindows { start end } }
  errors { code field } } }"""


async def test_quiet_windows_and_quiet_hours_stay_the_same_both_ways(api: Api) -> None:
    # given the default program: one window, 21:00..08:00
    data = await api.admin(
        "{ program { quietHoursStart quietHoursEnd quietWindows { start end } } }"
    )
    assert data["program"] == {
        "quietHoursStart": "21:00",
        "quietHoursEnd": "08:00",
        "quietWindows": [{"start": "21:00", "end": "08:00"}],
    }
    # when an admin sets two windows
    lunch_and_night = [{"start": "11:30", "end": "13:30"}, {"start": "21:00", "end": "08:00"}]
    done = (await api.admin(WINDOWS, {"input": {"quietWindows": lunch_and_night}}))["updateProgram"]
    # then the first becomes quietHoursStart/End
    assert done == {
        "program": {
            "quietHoursStart": "11:30",
            "quietHoursEnd": "13:30",
            "quietWindows": lunch_and_night,
        },
        "errors": [],
    }
    # and when quietHoursEnd alone moves, the first window moves with it, the second stays
    done = (await api.admin(WINDOWS, {"input": {"quietHoursEnd": "14:00"}}))["updateProgram"]
    assert done["program"]["quietWindows"] == [
        {"start": "11:30", "end": "14:00"},
        {"start": "21:00", "end": "08:00"},
    ]
    # and when quiet hours are cleared, the first window goes and the next one is first
    cleared = {"quietHoursStart": None, "quietHoursEnd": None}
    done = (await api.admin(WINDOWS, {"input": cleared}))["updateProgram"]
    assert done["program"] == {
        "quietHoursStart": "21:00",
        "quietHoursEnd": "08:00",
        "quietWindows": [{"start": "21:00", "end": "08:00"}],
    }
    # and an empty list leaves no window at all
    done = (await api.admin(WINDOWS, {"input": {"quietWindows": []}}))["updateProgram"]
    assert done["program"] == {"quietHoursStart": None, "quietHoursEnd": None, "quietWindows": []}
    # and from none, quietHoursStart and End make the first window again
    both = {"quietHoursStart": "22:00", "quietHoursEnd": "07:00"}
    done = (await api.admin(WINDOWS, {"input": both}))["updateProgram"]
    assert done["program"]["quietWindows"] == [{"start": "22:00", "end": "07:00"}]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (
            {"quietWindows": [{"start": "25:00", "end": "08:00"}]},
            ["input", "quietWindows", "0", "start"],
        ),
        (
            {
                "quietWindows": [
                    {"start": "21:00", "end": "08:00"},
                    {"start": "12:00", "end": "12:00"},
                ]
            },
            ["input", "quietWindows", "1", "end"],
        ),
        (
            {
                "quietWindows": [
                    {"start": "21:00", "end": "08:00"},
                    {"start": "21:00", "end": "08:00"},
                ]
            },
            ["input", "quietWindows", "1"],
        ),
        ({"quietWindows": [{"start": "01:00", "end": "02:00"}] * 11}, ["input", "quietWindows"]),
    ],
)
async def test_bad_quiet_windows_name_the_field_and_write_nothing(
    api: Api, given: dict[str, Any], field: list[str]
) -> None:
    # given the program as it is
    before = await program_row()
    # when an admin sends quiet windows wrong in one place
    done = (await api.admin(WINDOWS, {"input": given}))["updateProgram"]
    # then it is INVALID_INPUT naming that place, and nothing is written
    assert done["program"] is None
    assert [(e["code"], e["field"]) for e in done["errors"]] == [("INVALID_INPUT", field)]
    assert await program_row() == before


async def test_a_half_window_is_refused(api: Api) -> None:
    # given no quiet window
    await api.admin(WINDOWS, {"input": {"quietWindows": []}})
    # when an admin sets only the start of quiet hours
    done = (await api.admin(WINDOWS, {"input": {"quietHoursStart": "22:00"}}))["updateProgram"]
    # then the missing end is named
    assert done["errors"] == [{"code": "INVALID_INPUT", "field": ["input", "quietHoursEnd"]}]
