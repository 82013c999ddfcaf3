"""The rate-limit script runs on Redis Cluster: both buckets of a caller share a hash tag,
so the one script touching both lands on one slot (no CROSSSLOT). The cluster is the one
the suite was given, or a three-node one started for it (tests/cluster.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from core import ratelimit
from core import redis as core_redis


@pytest_asyncio.fixture
async def cluster(cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = core_redis.connect(cluster_url, decode_responses=True)
    assert isinstance(client, RedisCluster)
    try:
        yield client
    finally:
        await client.aclose()


async def test_the_script_takes_from_both_buckets_on_a_cluster(cluster: RedisCluster) -> None:
    # given the rate-limit script on a cluster and a member's two buckets
    script = cluster.register_script(ratelimit._TAKE)
    keys = [ratelimit.bucket_key("member:7", "req"), ratelimit.bucket_key("member:7", "strict")]
    now = 1_000_000
    # when it takes three times with burst 2 in the strict bucket
    answers = [await script(keys=keys, args=[now, 10, 40, 0.5, 2]) for _ in range(3)]
    # then two pass, the third waits 1 / 0.5 = 2 s
    assert answers == [0, 0, 2000]
    assert float(await cluster.hget(keys[0], "t")) == 38  # refused took nothing
