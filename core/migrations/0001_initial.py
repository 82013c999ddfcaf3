from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from decimal import Decimal
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('role', fields.CharField(max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=12)),
                ('label', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_key', 'app': 'loyalty', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=128)),
                ('display_name', fields.CharField(max_length=100)),
                ('phone', fields.CharField(null=True, db_index=True, max_length=20)),
                ('email', fields.CharField(null=True, db_index=True, max_length=254)),
                ('birthday', fields.DateField(null=True)),
                ('gender', fields.CharField(null=True, max_length=16)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('enrolled_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('referral_code', fields.CharField(unique=True, max_length=8)),
                ('referred_by', fields.ForeignKeyField('loyalty.Member', source_field='referred_by_id', null=True, db_constraint=True, to_field='id', related_name='referees', on_delete=OnDelete.SET_NULL)),
                ('leaderboard_hidden', fields.BooleanField(default=False)),
            ],
            options={'table': 'member', 'app': 'loyalty', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Program',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(default='Loyalty', max_length=100)),
                ('currency', fields.CharField(default='VND', max_length=3)),
                ('timezone', fields.CharField(default='Asia/Ho_Chi_Minh', max_length=64)),
                ('point_value', fields.DecimalField(default=Decimal('1000'), max_digits=18, decimal_places=4)),
                ('earn_rate_percent', fields.DecimalField(default=Decimal('5'), max_digits=7, decimal_places=4)),
                ('referral_rate_percent', fields.DecimalField(default=Decimal('2'), max_digits=7, decimal_places=4)),
                ('referral_window_days', fields.IntField(default=90)),
                ('referral_max_per_member', fields.IntField(null=True)),
                ('referral_welcome_points', fields.IntField(default=0)),
                ('tier_point_unit', fields.DecimalField(default=Decimal('20000'), max_digits=18, decimal_places=4)),
                ('tier_window', fields.CharField(default='ROLLING_YEAR', max_length=16)),
                ('tier_grace_days', fields.IntField(default=30)),
                ('welcome_points', fields.IntField(default=0)),
                ('birthday_points', fields.IntField(default=0)),
                ('points_pending_days', fields.IntField(default=0)),
                ('points_expiry_days', fields.IntField(null=True, default=365)),
                ('quiet_hours_start', fields.CharField(null=True, default='21:00', max_length=5)),
                ('quiet_hours_end', fields.CharField(null=True, default='08:00', max_length=5)),
                ('max_notifications_per_week', fields.IntField(null=True, default=3)),
                ('updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'program', 'app': 'loyalty', 'pk_attr': 'id', 'table_description': 'The one loyalty program this service runs (row id 1).'},
            bases=['Model'],
        ),
    ]
