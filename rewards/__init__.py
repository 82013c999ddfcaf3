"""What members earn and spend: the ledger, earning, tiers, badges, vouchers, spin wheels."""
