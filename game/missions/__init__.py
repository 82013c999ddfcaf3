"""Missions: definitions admins write (definitions), and members' progress (progress)."""
