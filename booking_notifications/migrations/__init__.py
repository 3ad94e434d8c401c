"""Alembic revisions, one reviewed revision per schema change; imports db."""
