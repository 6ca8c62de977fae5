"""Commands: activity (not yet written)."""
