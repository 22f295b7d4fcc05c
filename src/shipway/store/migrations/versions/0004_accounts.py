"""Local accounts and their API/session tokens (hashes only).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False, server_default=""),
        sa.Column("role", sa.String(253), nullable=False, server_default=""),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("email", sa.String(253), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created", TZ, nullable=False),
        sa.Column("updated", TZ, nullable=False),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "account",
            sa.String(253),
            sa.ForeignKey("accounts.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, server_default="api"),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created", TZ, nullable=False),
        sa.Column("expires", TZ, nullable=True),
        sa.Column("revoked", TZ, nullable=True),
        sa.Column("last_used", TZ, nullable=True),
    )
    op.create_index("ix_account_tokens_account", "account_tokens", ["account"])


def downgrade() -> None:
    op.drop_index("ix_account_tokens_account", "account_tokens")
    op.drop_table("account_tokens")
    op.drop_table("accounts")
