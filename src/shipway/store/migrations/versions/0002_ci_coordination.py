"""CI coordination across processes: concurrency groups, environment approvals, token scopes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ci_concurrency_groups",
        sa.Column("group_key", sa.String(500), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "ci_concurrency",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_key", sa.String(500), nullable=False, index=True),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cancel", sa.Boolean, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("heartbeat", TZ, nullable=False),
        sa.Column("created", TZ, nullable=False),
    )
    op.create_table(
        "ci_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("job", sa.String(300), nullable=False),
        sa.Column("environment", sa.String(253), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(253), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.Column("decided", TZ, nullable=True),
        sa.UniqueConstraint("run_id", "job", "environment"),
    )
    op.create_table(
        "ci_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("job", sa.String(300), nullable=False),
        sa.Column("permissions", sa.JSON, nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.UniqueConstraint("token_sha256", "job"),
    )


def downgrade() -> None:
    for table in ("ci_tokens", "ci_approvals", "ci_concurrency", "ci_concurrency_groups"):
        op.drop_table(table)
