"""PostgreSQL tells watchers of a change itself: ``pg_notify`` per statement on watched tables.

A ``--watch`` (``shipway.cli.changes``) and the controller's event stream
(``shipway.server.sse``) LISTEN on ``shipway_<table>`` (``shipway.store.listen``)
instead of asking ``max(seq)`` ten times a second. Statement-level ``AFTER
INSERT OR UPDATE OR DELETE`` triggers on the tables they read (``events``:
new rows and repeats, which take a new ``seq`` in place; ``resources``,
``releases`` and ``ci_runs``: rows created, changed in place, deleted) call
one function that notifies the table's channel with an empty payload, so no
write path in Python changes and a transaction's many statements deliver one
notification per channel (PostgreSQL folds identical ones) at commit.
SQLite: nothing (its watchers read ``PRAGMA data_version``).
Only these triggers and their function are touched.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Frozen copy of shipway.store.listen.TABLES at this revision.
_TABLES = ("events", "resources", "releases", "ci_runs")
_FUNCTION = "shipway_notify_change"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  PERFORM pg_notify('shipway_' || TG_TABLE_NAME, '');\n"
        "  RETURN NULL;\n"
        "END\n"
        "$$"
    )
    for table in _TABLES:
        op.execute(
            f"CREATE TRIGGER shipway_notify_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS shipway_notify_{table} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
