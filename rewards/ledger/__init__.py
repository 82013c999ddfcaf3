"""The points ledger: double-entry accounts, append-only postings, lots and expiry."""
