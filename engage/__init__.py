"""How the program talks back: segment rules, RFM, notifications and push, NPS, analytics."""
