"""Leaderboards: board definitions, scores in Redis sorted sets, live top-N, exact rebuild.

The only package that talks ZSET. Layout:
- definitions: the boards (Metric, Period, the built-in `points` board, upsert/list).
- scoring: how a (score, time reached) pair is packed into one exact Redis score.
- windows: ALL_TIME / DAILY / WEEKLY / MONTHLY windows in the program's zone.
- store: Redis keys, the Lua scripts, the after-commit pipeline step, reads, the breaker.
- sources: the database queries a rebuild reads (ledger postings, actions, tier points).
- rebuild: recompute every board from the database and swap it in atomically.
- reading: leaderboard views for the API (top N, me, around me, hidden members).
- live: coalesced top-N snapshots fanned out through core.pubsub.
"""
