"""An index of rollback pins, so a pass over every Application reads only the pinned ones.

A rollback under automated sync pins an Application (``status.pin.revision``,
``shipway.deploy.history``). The reconciler's pass used to read that value out
of every Application's status (10,000 JSON documents parsed a pass); this
partial index on the expression holds only the rows that have a pin, and
``shipway.store.pins`` asks it with the same expression text (SQLite and
PostgreSQL match an index on an expression only to the same expression).
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


def downgrade() -> None:
    op.execute("DROP INDEX ix_resources_pin")
