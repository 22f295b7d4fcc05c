"""Initial schema: resources, releases, CI runs, engine state, events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("api_version", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("status", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.Column("updated", TZ, nullable=False),
        sa.UniqueConstraint("kind", "namespace", "name"),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("app", sa.String(253), nullable=False, index=True),
        sa.Column("commit", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created", TZ, nullable=False, index=True),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_table(
        "ci_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("workflow", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False, index=True),
        sa.Column("conclusion", sa.String(32), nullable=False),
        sa.Column("created", TZ, nullable=False, index=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("log", sa.Text, nullable=False),
    )
    op.create_table(
        "engine_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("updated", TZ, nullable=False),
        sa.UniqueConstraint("engine", "key"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", TZ, nullable=False, index=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("events", "engine_state", "ci_runs", "releases", "resources"):
        op.drop_table(table)
