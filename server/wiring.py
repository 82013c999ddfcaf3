"""Connects domain events to their reactions (the only place that knows both sides)."""

from __future__ import annotations

from core import definitions, events, outbox, pubsub
from engage import segment_rules, templates, transactional, webhooks
from game import action_types, stamp_cards
from game import actions as game_actions
from game.leaderboards import definitions as boards
from game.leaderboards import updates as leaderboard_updates
from game.missions import definitions as missions
from game.missions.events import MissionCompleted
from members import program
from members import service as member_service
from rewards import promotions
from rewards.badges import service as badges
from rewards.enrolment import MemberEnrolled
from rewards.orders.service import OrderCompleted
from rewards.tiers import history as tier_history
from rewards.tiers import service as tiers
from rewards.tiers.service import TierChanged


def wire() -> None:
    """Register every reaction and definitions loader; idempotent."""
    # What every write reads from memory (core/definitions.py), by part name.
    for name, load in (
        ("program", program.load_definitions),
        ("tiers", tiers.load_definitions),
        ("promotions", promotions.load_definitions),
        ("badges", badges.load_definitions),
        ("action_types", action_types.load_definitions),
        ("missions", missions.load_definitions),
        ("stamp_cards", stamp_cards.load_definitions),
        ("boards", boards.load_definitions),
        ("erased_members", member_service.erased_ids),
        ("message_templates", templates.load_definitions),
        ("webhooks", webhooks.load_definitions),
    ):
        definitions.loader(name, load)
    # After commit, through the outbox: live messages, then leaderboard scores, each
    # applied once per outbox row.
    pubsub.register_live_part()
    outbox.part("leaderboards", leaderboard_updates.collect, leaderboard_updates.apply)
    # Every recorded order is also the built-in `order` game action, in the same transaction.
    events.within(OrderCompleted, game_actions.on_order_completed)
    # Segment rules over tiers, the ledger, orders and RFM (members/ cannot import them).
    segment_rules.register()
    # Transactional notifications: to the inbox in the cause's own transaction.
    events.before_commit(TierChanged, tier_history.on_tier_changed)
    events.before_commit(TierChanged, transactional.on_tier_changed)
    events.before_commit(MissionCompleted, transactional.on_mission_completed)
    events.before_commit(MemberEnrolled, transactional.on_member_enrolled)
    # Business events to webhooks: turned into WebhookEvents before commit, kept in the
    # outbox row, written as deliveries after commit.
    webhooks.register()
