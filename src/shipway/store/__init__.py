"""Persistence with SQLAlchemy 2: SQLite under ``$SHIPWAY_HOME`` by default,
PostgreSQL through ``SHIPWAY_DATABASE_URL``. Schema changes are Alembic
migrations in ``store/migrations``; ``db.open_store`` brings a database to head.

This package is an adapter: SQL errors become ``shipway.model.errors`` here.
"""
