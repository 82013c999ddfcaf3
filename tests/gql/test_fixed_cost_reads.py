"""The screens every member opens read a fixed number of statements, whatever they hold."""

from __future__ import annotations

from core.settings import Settings
from tests import factories
from tests.conftest import Api
from tests.game import factories as game
from tests.statements import counting

HOME = """{ me { pointsBalance tierPoints tier { code } badges { badge { code } } }
  myMissions { progress target completed } }"""


async def _home_statements(api: Api, settings: Settings, missions: int, badges: int) -> int:
    kind = f"review{missions}.posted"
    await game.action_type(api, kind, points=5)
    for n in range(badges):
        await game.badge(api, f"b{missions}-{n}")
    for n in range(missions):
        reward = {"points": 1}
        if n < badges:
            reward["badgeCode"] = f"b{missions}-{n}"  # type: ignore[assignment]
        await game.mission(api, title=f"m{n}", actionType=kind, target=1, reward=reward)
    member = await factories.member()
    token = factories.token_for(member, settings)
    await game.track(api, member, kind)  # completes every mission, awards the badges
    await api(HOME, token=token)  # definitions loaded, as in a warm server
    with counting() as statements:
        home = await api(HOME, token=token)
    assert len([m for m in home["myMissions"] if m["completed"]]) == missions
    assert len(home["me"]["badges"]) == badges
    return statements.count


async def test_the_home_screen_costs_the_same_with_one_mission_or_thirty(
    api: Api, settings: Settings
) -> None:
    # given a member with nothing, then one with 30 missions done and 10 badges
    # when each reads the home screen
    few = await _home_statements(api, settings, missions=1, badges=0)
    many = await _home_statements(api, settings, missions=30, badges=10)
    # then the home query reads the same few statements: the member with their balances and
    # tier, their badges, their mission progress
    assert few == many <= 3


async def test_me_reads_balances_lifetime_and_tier_kept_by_the_writes(
    api: Api, settings: Settings
) -> None:
    # given a member who earned 5 points for an action
    await game.action_type(api, "review.posted", points=5)
    member = await factories.member()
    await game.track(api, member)
    # when they open the app
    with counting() as statements:
        me = await api(
            "{ me { pointsBalance pendingPoints lifetimePoints tierPoints } }",
            token=factories.token_for(member, settings),
        )
    # then one statement answers it
    expected = {"pointsBalance": 5, "pendingPoints": 0, "lifetimePoints": 5, "tierPoints": 0}
    assert me["me"] == expected
    assert statements.count == 1
