"""CI: tokens expire with their job; reviews know who may decide and whose run it is.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ci_tokens") as batch:
        batch.add_column(sa.Column("expires", TZ, nullable=True))
        batch.add_column(sa.Column("ended", TZ, nullable=True))
    with op.batch_alter_table("ci_approvals") as batch:
        batch.add_column(sa.Column("reviewers", sa.JSON, nullable=True))
        batch.add_column(
            sa.Column("prevent_self", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("actor", sa.String(253), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ci_approvals") as batch:
        for name in ("actor", "prevent_self", "reviewers"):
            batch.drop_column(name)
    with op.batch_alter_table("ci_tokens") as batch:
        for name in ("ended", "expires"):
            batch.drop_column(name)
