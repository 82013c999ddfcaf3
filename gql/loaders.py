"""One DataLoader set per request, so a list's SQL count does not grow with its length."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from members.models import Member

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keyed(
    fetch: Callable[[list[K]], Awaitable[Iterable[tuple[K, V]]]], default: V | None = None
) -> DataLoader[K, V | None]:
    """A DataLoader from a function returning (key, value) pairs for the keys it found."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        found = dict(await fetch(list(keys)))
        return [found.get(k, default) for k in keys]

    return DataLoader(load_fn=load)


async def _members(keys: list[int]) -> list[tuple[int, Member]]:
    return [(m.id, m) for m in await Member.filter(id__in=keys)]


@dataclass
class Loaders:
    member: DataLoader[int, Member | None] = field(default_factory=lambda: keyed(_members))
    # Areas add their loaders here, built fresh for every request.
    extra: dict[str, Any] = field(default_factory=dict)
