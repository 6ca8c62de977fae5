"""Commands: contacts (not yet written)."""
