from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    """The hot path: member_state, the outbox, the definitions version; lots no longer
    need their posting."""

    dependencies = [('loyalty', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DefinitionsVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'definitions_version', 'app': 'loyalty', 'pk_attr': 'id', 'table_description': "One row: bumped in the transaction of every change to the program's definitions."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberState',
            fields=[
                ('member_id', fields.IntField(primary_key=True, unique=True, db_index=True)),
                ('lifetime', fields.BigIntField(default=0)),
                ('tier_points', fields.BigIntField(default=0)),
                ('tier_points_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('tier_code', fields.CharField(null=True, max_length=32)),
                ('grace_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('promoted_by_order', fields.CharField(null=True, max_length=128)),
                ('tier_before', fields.CharField(null=True, max_length=32)),
                ('tier_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seq', fields.BigIntField(default=0)),
            ],
            options={'table': 'member_state', 'app': 'loyalty', 'pk_attr': 'member_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('members', fields.TextField(default='', unique=False)),
                ('payload', fields.TextField(unique=False)),
            ],
            options={'table': 'outbox', 'app': 'loyalty', 'pk_attr': 'id', 'table_description': 'After-commit effects of one unit of work, written in its transaction.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Lot',
            name='posting_id',
            field=fields.BigIntField(null=True),
        ),
        # Every member gets a state row: the tier they held, their lifetime points, and
        # ALL their tier points marked stale, so the first reader recounts the window
        # (a stale count is never lower than the truth, which tier upgrades rely on).
        ops.RunSQL(
            """
            INSERT INTO member_state (member_id, lifetime, tier_points, tier_points_until,
                tier_code, grace_until, promoted_by_order, tier_before, tier_changed_at, seq)
            SELECT m.id,
                COALESCE((SELECT SUM(p.earned) FROM ledger_posting p WHERE p.member_id = m.id), 0),
                COALESCE((SELECT SUM(e.points) FROM tier_point_entry e WHERE e.member_id = m.id), 0),
                '2000-01-01 00:00:00+00:00',
                t.tier_code, t.grace_until, t.promoted_by_order, t.tier_before, t.changed_at, 0
            FROM member m LEFT JOIN member_tier t ON t.member_id = m.id
            """
        ),
        # Accounts were made lazily before: every member has both from now on.
        ops.RunSQL(
            """
            INSERT INTO ledger_account (key, kind, member_id, balance)
            SELECT 'm:' || m.id || ':available', 'AVAILABLE', m.id, 0 FROM member m
            WHERE NOT EXISTS (SELECT 1 FROM ledger_account a
                              WHERE a.member_id = m.id AND a.kind = 'AVAILABLE')
            """
        ),
        ops.RunSQL(
            """
            INSERT INTO ledger_account (key, kind, member_id, balance)
            SELECT 'm:' || m.id || ':pending', 'PENDING', m.id, 0 FROM member m
            WHERE NOT EXISTS (SELECT 1 FROM ledger_account a
                              WHERE a.member_id = m.id AND a.kind = 'PENDING')
            """
        ),
        ops.DeleteModel(name='MemberTier'),
    ]
