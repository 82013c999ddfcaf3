"""Orders: recording orders that earn points, refunds that take them back (service), and
their tables (models)."""
