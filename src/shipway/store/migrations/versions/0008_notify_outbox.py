"""The notification outbox (notify_outbox).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(96), nullable=False, unique=True),
        sa.Column("cond", sa.String(64), nullable=False, index=True),
        sa.Column("app_namespace", sa.String(253), nullable=False, server_default=""),
        sa.Column("app_name", sa.String(253), nullable=False),
        sa.Column("trigger", sa.String(253), nullable=False),
        sa.Column("service", sa.String(253), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False, server_default=""),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", TZ, nullable=False, index=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("group_key", sa.String(300), nullable=False, server_default=""),
        sa.Column("external", sa.JSON, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("created", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("notify_outbox")
