"""Member care: card codes (backfilled for existing members), city, erasure mark, profile
and consent change logs, current consents, and the tier-change log."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
import secrets
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

BATCH = 1000


def _luhn_digit(body: str) -> str:
    """The Luhn check digit for `body` (self-contained: migrations must not import app code)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _new_code() -> str:
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(10))
    return body + _luhn_digit(body)


async def backfill_card_codes(apps, schema_editor) -> None:
    """Give every member without one a random, unique card code, 1000 rows per UPDATE."""
    client = schema_editor.client
    taken = {
        row["card_code"]
        for row in await client.execute_query_dict(
            "SELECT card_code FROM member WHERE card_code IS NOT NULL"
        )
    }
    ids = [
        int(row["id"])
        for row in await client.execute_query_dict(
            "SELECT id FROM member WHERE card_code IS NULL ORDER BY id"
        )
    ]
    for start in range(0, len(ids), BATCH):
        cases = []
        for member_id in ids[start : start + BATCH]:
            code = _new_code()
            while code in taken:
                code = _new_code()
            taken.add(code)
            # Digits and integers only: safe to inline, and the same SQL on every backend.
            cases.append(f"WHEN {member_id} THEN '{code}'")
        chunk = ", ".join(str(i) for i in ids[start : start + BATCH])
        await client.execute_script(
            f"UPDATE member SET card_code = CASE id {' '.join(cases)} END WHERE id IN ({chunk})"
        )


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0002_hot_path')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=8)),
                ('granted', fields.BooleanField()),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=16)),
            ],
            options={'table': 'member_consent_change', 'app': 'loyalty', 'indexes': [Index(fields=['member_id', 'changed_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberConsent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=8)),
                ('granted', fields.BooleanField()),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_consent', 'app': 'loyalty', 'unique_together': (('member_id', 'channel'),), 'indexes': [Index(fields=['channel', 'granted'])], 'pk_attr': 'id', 'table_description': "The member's current answer for one channel (no row: the channel's default)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProfileChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=16)),
                ('names', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('diff', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'member_profile_change', 'app': 'loyalty', 'indexes': [Index(fields=['member_id', 'changed_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TierChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('loyalty.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('from_code', fields.CharField(null=True, max_length=32)),
                ('to_code', fields.CharField(null=True, max_length=32)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_tier_change', 'app': 'loyalty', 'indexes': [Index(fields=['member_id', 'changed_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='card_code',
            field=fields.CharField(null=True, unique=True, max_length=12),
        ),
        ops.AddField(
            model_name='Member',
            name='city',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Member',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(backfill_card_codes, ops.RunPython.noop),
    ]
