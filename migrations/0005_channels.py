"""Channels: message templates, message deliveries (every channel's outbox and record; owed
and past pushes move there from the notification row), webhooks and their deliveries,
campaign channel and results, and the program's quiet windows (backfilled from its quiet
hours)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index



def default_quiet_windows() -> list[dict[str, str]]:
    # As members.models has it (migrations do not import app code).
    return [{"start": "21:00", "end": "08:00"}]


# Pushes owed (push_due_at set) or made (pushed_at set) become PUSH deliveries.
MOVE_PUSHES = """
INSERT INTO message_delivery (member_id, channel, template_key, campaign_id, notification_id,
    title, body, deep_link, status, attempts, due_at, created_at, sent_at)
SELECT member_id, 'PUSH',
    CASE kind WHEN 'TIER_UP' THEN 'tier.up' WHEN 'MISSION_COMPLETED' THEN 'mission.completed'
        WHEN 'VOUCHER_EXPIRING' THEN 'voucher.expiring' WHEN 'POINTS_EXPIRING' THEN 'points.expiring'
        WHEN 'TIER_AT_RISK' THEN 'tier.at_risk' ELSE 'campaign' END,
    campaign_id, id, title, body, deep_link,
    CASE WHEN pushed_at IS NOT NULL THEN 'SENT' WHEN push_due_at IS NOT NULL THEN 'PENDING'
        ELSE 'FAILED' END,
    push_attempts, push_due_at, created_at, pushed_at
FROM notification
WHERE push_due_at IS NOT NULL OR pushed_at IS NOT NULL OR push_attempts > 0
"""

async def backfill_quiet_windows(apps, schema_editor) -> None:
    """The one quiet window the program had (quiet hours), or none."""
    client = schema_editor.client
    cast = "::jsonb" if client.capabilities.dialect == "postgres" else ""
    for row in await client.execute_query_dict(
        "SELECT id, quiet_hours_start AS s, quiet_hours_end AS e FROM program"
    ):
        start, end = row["s"], row["e"]
        windows = [{"start": start, "end": end}] if start and end and start != end else []
        await client.execute_query(
            f"UPDATE program SET quiet_windows = $1{cast} WHERE id = $2"
            if cast
            else "UPDATE program SET quiet_windows = ? WHERE id = ?",
            [dumps(windows, separators=(",", ":")), row["id"]],
        )


class DropColumn(ops.RemoveField):
    """RemoveField by ALTER TABLE ... DROP COLUMN: SQLite's remove_field rebuilds the table
    and would lose its other unique constraints and indexes."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if not state_editor:
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        table = model._meta.db_table
        client = state_editor.client
        if client.capabilities.dialect == "sqlite":
            # SQLite refuses to drop an indexed column: drop its indexes first.
            for row in await client.execute_query_dict(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                [table],
            ):
                if row["sql"] and f'"{self.name}"' in row["sql"]:
                    await client.execute_script(f'DROP INDEX "{row["name"]}"')
        await client.execute_script(f'ALTER TABLE "{table}" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0004_audit_trail')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MessageDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=8)),
                ('template_key', fields.CharField(max_length=64)),
                ('campaign_id', fields.IntField(null=True)),
                ('notification_id', fields.BigIntField(null=True)),
                ('title', fields.CharField(null=True, max_length=100)),
                ('body', fields.CharField(max_length=1000)),
                ('deep_link', fields.CharField(null=True, max_length=500)),
                ('data', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='PENDING', max_length=12)),
                ('attempts', fields.SmallIntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message_delivery', 'app': 'loyalty', 'indexes': [Index(fields=['channel', 'due_at']), Index(fields=['campaign_id', 'member_id']), Index(fields=['member_id', 'id'])], 'pk_attr': 'id', 'table_description': "One message on one channel to one member: the channel's outbox row while due_at is"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=64)),
                ('channel', fields.CharField(max_length=8)),
                ('title', fields.CharField(null=True, max_length=100)),
                ('body', fields.CharField(max_length=1000)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message_template', 'app': 'loyalty', 'unique_together': (('key', 'channel'),), 'pk_attr': 'id', 'table_description': "An admin's text for one message key on one channel (built-in defaults are not rows)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Webhook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=500)),
                ('events', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret', fields.CharField(max_length=100)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook', 'app': 'loyalty', 'pk_attr': 'id', 'table_description': 'A receiver of business events (a CRM, a data warehouse). The secret signs every'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook', fields.ForeignKeyField('loyalty.Webhook', source_field='webhook_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event_id', fields.CharField(max_length=40)),
                ('event', fields.CharField(max_length=40)),
                ('payload', fields.TextField(unique=False)),
                ('status', fields.CharField(default='PENDING', max_length=12)),
                ('attempts', fields.SmallIntField(default=0)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'loyalty', 'unique_together': (('webhook_id', 'event_id'),), 'indexes': [Index(fields=['webhook_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One business event owed to one webhook: the body as first written (so every retry'},
            bases=['Model'],
        ),
        ops.RunSQL(MOVE_PUSHES),
        ops.AlterModelOptions(
            name='Notification',
            options={'table': 'notification', 'app': 'loyalty', 'unique_together': (('member_id', 'key'),), 'indexes': [Index(fields=['member_id', 'created_at']), Index(fields=['campaign_id', 'member_id'])], 'pk_attr': 'id', 'table_description': 'One message in a member inbox; how it was carried (push, SMS ...) is in MessageDelivery.'},
        ),
        DropColumn(model_name='Notification', name='push_attempts'),
        DropColumn(model_name='Notification', name='push_due_at'),
        DropColumn(model_name='Notification', name='pushed_at'),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['campaign_id', 'member_id']),
        ),
        ops.AddField(
            model_name='NotificationCampaign',
            name='channel',
            field=fields.CharField(default='PUSH', max_length=8),
        ),
        ops.AddField(
            model_name='NotificationCampaign',
            name='conversion_window_days',
            field=fields.IntField(default=7),
        ),
        ops.AddField(
            model_name='NotificationCampaign',
            name='suppressed_by_consent',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='NotificationCampaign',
            name='template_key',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Program',
            name='quiet_windows',
            field=fields.JSONField(default=default_quiet_windows, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.RunPython(backfill_quiet_windows, ops.RunPython.noop),
    ]
