"""Infrastructure shared by every domain package; no business rules live here."""
