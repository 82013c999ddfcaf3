"""Tables of the spin wheels: wheels, their weighted segments, each member's seed/limit
state per wheel, and the record of every spin (with its revealed seed)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SpinWheel(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    cost_points = fields.IntField(default=0)
    daily_limit = fields.IntField(null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "spin_wheel"


class SpinSegment(Model):
    """A slice of the wheel. With stock set, `won` counts the units taken and never exceeds it."""

    id = fields.IntField(primary_key=True)
    wheel: fields.ForeignKeyRelation[SpinWheel] = fields.ForeignKeyField(
        "loyalty.SpinWheel", related_name="segments", on_delete=fields.CASCADE
    )
    wheel_id: int
    position = fields.IntField()
    label = fields.CharField(max_length=100)
    weight = fields.IntField()
    prize_points = fields.IntField(null=True)
    prize_voucher_offer_id = fields.IntField(null=True)
    prize_spins = fields.IntField(null=True)
    prize_badge_code = fields.CharField(max_length=64, null=True)
    stock = fields.IntField(null=True)
    won = fields.IntField(default=0)

    class Meta:
        table = "spin_segment"
        unique_together = (("wheel", "position"),)

    @property
    def has_prize(self) -> bool:
        return bool(
            self.prize_points
            or self.prize_voucher_offer_id
            or self.prize_spins
            or self.prize_badge_code
        )

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.won < self.stock


class SpinState(Model):
    """One member on one wheel: the committed seed and nonce of the next spin, free spins
    held and the spin count of the day. Spins lock this row, so limits hold under concurrency."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "loyalty.Member", related_name="spin_states", on_delete=fields.CASCADE
    )
    member_id: int
    wheel: fields.ForeignKeyRelation[SpinWheel] = fields.ForeignKeyField(
        "loyalty.SpinWheel", related_name="states", on_delete=fields.CASCADE
    )
    wheel_id: int
    server_seed = fields.CharField(max_length=64)
    nonce = fields.IntField(default=0)
    free_spins = fields.IntField(default=0)
    day_key = fields.CharField(max_length=10, default="")
    spins_today = fields.IntField(default=0)

    class Meta:
        table = "spin_state"
        unique_together = (("member", "wheel"),)


class SpinResult(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "loyalty.Member", related_name="spins", on_delete=fields.CASCADE
    )
    member_id: int
    wheel: fields.ForeignKeyRelation[SpinWheel] = fields.ForeignKeyField(
        "loyalty.SpinWheel", related_name="results", on_delete=fields.CASCADE
    )
    wheel_id: int
    segment: fields.ForeignKeyRelation[SpinSegment] = fields.ForeignKeyField(
        "loyalty.SpinSegment", related_name="results", on_delete=fields.CASCADE
    )
    segment_id: int
    won = fields.BooleanField()
    points_spent = fields.IntField(default=0)
    used_free_spin = fields.BooleanField(default=False)
    server_seed = fields.CharField(max_length=64)
    server_seed_hash = fields.CharField(max_length=64)
    client_seed = fields.CharField(max_length=128)
    nonce = fields.IntField()
    # The draw: [[segment_id, weight], ...] of the segments in stock, in wheel order.
    draw: fields.Field[list[list[int]]] = fields.JSONField()
    voucher_code = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "spin_result"
