"""Tiers: definitions, the member's tier and its review (service), what a member must still
earn to keep it (status), the tier-change log (history), and their tables (models)."""
