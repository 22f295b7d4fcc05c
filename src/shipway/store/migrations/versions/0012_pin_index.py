"""Indexes for the reconciler's pass over every Application: its listing, and rollback pins.

A rollback under automated sync pins an Application (``status.pin.revision``,
``shipway.deploy.history``). The reconciler's pass used to read that value out
of every Application's status (10,000 JSON documents parsed a pass); this
partial index on the expression holds only the rows that have a pin, and
``shipway.store.pins`` asks it with the same expression text (SQLite and
PostgreSQL match an index on an expression only to the same expression).
``ix_resources_listing`` covers the pass's listing of ``(id, generation)`` in
name order, so it reads the index alone, never the rows with their bodies.
Only the ``resources`` table's indexes are touched.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Frozen copies of shipway.store.pins.PIN_SQL at this revision.
_PIN = {
    "sqlite": "json_extract(status, '$.pin.revision')",
    "postgresql": "((status -> 'pin') ->> 'revision')",
}


def upgrade() -> None:
    pin = _PIN[op.get_bind().dialect.name]
    op.execute(
        f"CREATE INDEX ix_resources_pin ON resources (api_group, kind, {pin}) "
        f"WHERE {pin} IS NOT NULL"
    )
    op.create_index(
        "ix_resources_listing",
        "resources",
        ["api_group", "kind", "namespace", "name", "generation"],
    )


def downgrade() -> None:
    op.drop_index("ix_resources_listing", "resources")
    op.execute("DROP INDEX ix_resources_pin")
