"""Commands: classify (not yet written)."""
