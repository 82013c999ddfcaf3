"""Leaderboards: board definitions, scores in Redis sorted sets, live top-N, exact rebuild.

The only package that talks ZSET. Layout:
- definitions: the boards (Metric, Period, the built-in `points` board, upsert/list).
- scoring: how a standing is stored: the exact score as the Redis score, the tie-break
  (reached first to the millisecond, then the lower member id) in the sorted-set member.
- windows: ALL_TIME / DAILY / WEEKLY / MONTHLY windows in the program's zone.
- store: Redis keys, the Lua scripts, the after-commit pipeline step, reads, the breaker.
- updates: the outbox part "leaderboards": a unit's events as ONE update script call.
- sources: the database queries a rebuild reads (ledger postings, actions, tier points).
- rebuild: recompute every board from the database and swap it in atomically.
- reconcile: compare every board with the database and repair drift, without fighting
  live writes (the job `leaderboards-reconcile`).
- reading: leaderboard views for the API (top N, me, around me, hidden members).
- live: coalesced top-N snapshots fanned out through core.pubsub.
"""
