"""An index for the web UI's applications page: whether any Application changed.

``shipway.server.ui.appindex`` asks ``count(*), max(updated)`` of the Applications on
every page, then ``id, updated`` of each when that moved. Without this index both read
every Application row with its body and status (10,000 JSON documents a page); on
``(kind, updated, id)`` they read the index alone. It leads with ``kind``, not
``api_group``, so queries naming both (the reconciler's listing and pin lookup)
keep 0012's indexes, which match more of their terms.
Only the ``resources`` table's indexes are touched.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_resources_kind_updated", "resources", ["kind", "updated", "id"])


def downgrade() -> None:
    op.drop_index("ix_resources_kind_updated", "resources")
