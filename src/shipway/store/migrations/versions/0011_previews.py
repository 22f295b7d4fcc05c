"""Preview environments (previews) and the host ports they hold (preview_ports).

Revision ID: 0011
Revises: 0008 (the lead re-chains it after 0009 and 0010 when merging)
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "previews",
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("appset_namespace", sa.String(253), nullable=False, server_default=""),
        sa.Column("appset", sa.String(253), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("phase", sa.String(32), nullable=False, index=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.Column("updated", TZ, nullable=False),
        sa.Column("expires", TZ, nullable=True, index=True),
    )
    op.create_table(
        "preview_ports",
        sa.Column("host_port", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("preview", sa.String(253), nullable=False, index=True),
        sa.Column("object", sa.String(400), nullable=False),
        sa.Column("created", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("preview_ports")
    op.drop_table("previews")
