"""Shared fixtures: real servers live in tests/support and are loaded as plugins here."""

pytest_plugins = ["support.pg_fixtures", "support.imap_fixtures"]
