"""Commands: verp (not yet written)."""
