"""Events as one model (involvedObject, type, release, count, stream seq); app_reconciles.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

_COLUMNS = (
    ("key", sa.String(64), ""),
    ("type", sa.String(16), "Normal"),
    ("api_version", sa.String(200), ""),
    ("kind", sa.String(100), ""),
    ("namespace", sa.String(253), ""),
    ("name", sa.String(253), ""),
    ("uid", sa.String(64), ""),
    ("release_id", sa.String(64), ""),
)


def upgrade() -> None:
    for name, type_, default in _COLUMNS:
        op.add_column("events", sa.Column(name, type_, nullable=False, server_default=default))
    op.add_column("events", sa.Column("count", sa.Integer, nullable=False, server_default="1"))
    op.add_column("events", sa.Column("seq", sa.Integer, nullable=True))
    op.add_column("events", sa.Column("first_time", TZ, nullable=True))
    # Older rows: their id is their position; ``Kind/name`` subjects name their object.
    op.execute("UPDATE events SET seq = id, first_time = time, name = subject")
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, subject FROM events WHERE subject LIKE '%/%'"))
    for row_id, subject in list(rows):
        kind, _, name = str(subject).partition("/")
        if kind[:1].isupper() and ":" not in kind and "/" not in name:
            conn.execute(sa.text("UPDATE events SET kind = :k, name = :n WHERE id = :i"),
                         {"k": kind, "n": name, "i": row_id})  # fmt: skip
    op.create_index("ix_events_seq", "events", ["seq"], unique=True)
    op.create_index("ix_events_key", "events", ["key"])
    op.create_index("ix_events_release_id", "events", ["release_id"])
    op.create_index("ix_events_kind_name", "events", ["kind", "name"])
    op.create_table(
        "app_reconciles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", TZ, nullable=False, index=True),
        sa.Column("namespace", sa.String(253), nullable=False, server_default=""),
        sa.Column("name", sa.String(253), nullable=False, index=True),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("app_reconciles")
    for index in ("ix_events_kind_name", "ix_events_release_id", "ix_events_key", "ix_events_seq"):
        op.drop_index(index, table_name="events")
    for name in ("first_time", "seq", "count", *(c[0] for c in _COLUMNS)):
        op.drop_column("events", name)
