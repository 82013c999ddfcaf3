"""Vouchers: the offer catalog, claiming with points, reward grants and checkout redemption.

`grant_voucher(member_id, offer_id, source)` is what missions, stamp cards and spins call.
"""

from rewards.vouchers.service import grant_voucher

__all__ = ["grant_voucher"]
