"""Badges: definitions, awards and the member's badges (service), and their tables (models)."""
