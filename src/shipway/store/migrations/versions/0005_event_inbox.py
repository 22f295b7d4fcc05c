"""The durable event inbox (accepted webhooks and the work derived from them) and hook keys.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe", sa.String(500), nullable=True, unique=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("owner", sa.String(300), nullable=False, server_default=""),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("created", TZ, nullable=False),
        sa.Column("finished", TZ, nullable=True),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_inbox_state_kind_id", "inbox", ["state", "kind", "id"])
    op.create_table(
        "hook_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hook_keys")
    op.drop_index("ix_inbox_state_kind_id", "inbox")
    op.drop_table("inbox")
