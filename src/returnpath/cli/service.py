"""Commands: service (not yet written)."""
