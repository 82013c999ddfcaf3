"""What members do: action types and tracking, missions, stamp cards (leaderboards apart)."""
