"""Spin wheels: weighted segments with prizes and stock, free spins, daily limits and
provably fair draws.

`grant_free_spins(member_id, wheel_id, spins)` is what missions and stamp cards call.
"""

from rewards.spin_wheel.service import grant_free_spins

__all__ = ["grant_free_spins"]
