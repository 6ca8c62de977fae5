"""Commands: db (not yet written)."""
