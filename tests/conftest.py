"""Shared fixtures. Tests run on real PostgreSQL: the embedded server by default, DATABASE_URL when set."""
