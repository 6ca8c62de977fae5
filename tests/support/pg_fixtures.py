"""PostgreSQL fixtures (a throw-away server started by the tests)."""
