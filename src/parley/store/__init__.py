"""Persistent state: summits, delegations, invitations. SQLite by default, PostgreSQL in production."""
