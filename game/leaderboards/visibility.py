"""A member's choice to show or hide themselves on leaderboards."""

from __future__ import annotations

from core.events import emit, unit_of_work
from game.leaderboards.updates import LeaderboardVisibilityChanged
from members.models import Member
from members.service import get_member


async def set_hidden(member_id: int, hidden: bool) -> Member:
    """Hidden members still rank; boards show them anonymously from the next snapshot."""
    async with unit_of_work():
        member = await get_member(member_id)
        if member.leaderboard_hidden != hidden:
            await Member.filter(id=member_id).update(leaderboard_hidden=hidden)
            member.leaderboard_hidden = hidden
            emit(LeaderboardVisibilityChanged(member_id))
    return member
