"""Commands: backfill (not yet written)."""
