"""Alembic migrations of the shipway schema."""
