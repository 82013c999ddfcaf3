"""NPS: members answer "how likely are you to recommend us?" 0..10, once per 90 days.

An answer is also the game action `survey.completed` (attributes survey=nps, score), so
missions and action points can reward it, in the same transaction as the answer. If the
admin has not defined a `survey.completed` action type, the answer is still stored and
simply earns nothing (pointsAwarded 0): answering must not fail because the program has
not set up a reward.

Score = percent promoters (9-10) minus percent detractors (0-6); passives are 7-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.functions import Count

from core import clock, validation
from core.errors import InvalidInput, LimitReached
from core.events import emit, unit_of_work
from engage.models import NpsResponse
from game import action_types, actions
from rewards import member_state

WINDOW = timedelta(days=90)
SURVEY_ACTION = "survey.completed"


@dataclass
class NpsSubmitted:
    """A member answered the NPS question (webhooks: nps.submitted)."""

    member_id: int
    score: int
    comment: str | None
    at: datetime


async def submit(member_id: int, score: int, comment: str | None) -> int:
    """Store the member's answer and track it; returns the points it earned."""
    if not 0 <= score <= 10:
        raise InvalidInput("score must be 0..10", "score")
    text = comment.strip() if comment else ""
    text = validation.text(text, "comment", max_len=1000) if text else ""
    now = clock.now()
    async with unit_of_work():
        # The member's lock (the one actions and the ledger take) serialises their answers.
        await member_state.lock(member_id)
        if await NpsResponse.filter(member_id=member_id, created_at__gt=now - WINDOW).exists():
            raise LimitReached("one NPS answer per 90 days", "score")
        answer = await NpsResponse.create(
            member_id=member_id, score=score, comment=text or None, created_at=now
        )
        emit(NpsSubmitted(member_id, score, text or None, now))
        if not await action_types.known(SURVEY_ACTION):
            return 0
        tracked = await actions.track(
            member_id,
            SURVEY_ACTION,
            idempotency_key=f"nps:{answer.id}",
            attributes={"survey": "nps", "score": score},
            occurred_at=now,
        )
        return tracked.points_awarded


@dataclass
class NpsSummary:
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def score(self) -> float | None:
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 2)


async def summary(start: datetime | None, end: datetime | None) -> NpsSummary:
    """Answers given in [start, end], counted by group in one aggregate query."""
    query = NpsResponse.all()
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lte=end)
    rows = await query.annotate(n=Count("id")).group_by("score").values("score", "n")
    found = NpsSummary()
    for row in rows:
        n, score = int(row["n"]), int(row["score"])
        found.responses += n
        if score >= 9:
            found.promoters += n
        elif score >= 7:
            found.passives += n
        else:
            found.detractors += n
    return found


async def answers_of(member_ids: list[int]) -> dict[int, list[NpsResponse]]:
    """Each member's answers with their comments, newest first (one query; at most one
    answer per 90 days, so a member has few)."""
    found: dict[int, list[NpsResponse]] = {m: [] for m in member_ids}
    if member_ids:
        for row in await NpsResponse.filter(member_id__in=member_ids).order_by(
            "-created_at", "-id"
        ):
            found[row.member_id].append(row)
    return found
