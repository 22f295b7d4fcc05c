"""Resources keyed by API group, kind, namespace and name; existing rows get a namespace.

Each row gets ``api_group`` from its ``apiVersion``. A row without a namespace
gets its kind's default (as ``shipway.model.namespaces`` says at this
revision: ``argocd`` for Argo CD's kinds and ``argocd-*`` ConfigMaps,
``flux-system`` for Flux's image kinds, ``default`` for the rest; none for the
cluster-scoped ``Cluster``), written into ``metadata.namespace`` too. The
unique key ``(kind, namespace, name)`` becomes ``(api_group, kind, namespace,
name)``. Only the ``resources`` table is touched.

Revision ID: 0006
Revises: 0005
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CLUSTER_SCOPED = {"Cluster", "Project"}
_FIXED = {
    "Application": "argocd",
    "AppProject": "argocd",
    "ImageRepository": "flux-system",
    "ImagePolicy": "flux-system",
    "ImageUpdateAutomation": "flux-system",
}
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}

_resources = sa.table(
    "resources",
    sa.column("id", sa.Integer),
    sa.column("api_group", sa.String),
    sa.column("kind", sa.String),
    sa.column("namespace", sa.String),
    sa.column("name", sa.String),
    sa.column("api_version", sa.String),
    sa.column("body", sa.JSON),
)


def _namespace(kind: str, name: str, given: str) -> str:
    if kind in _CLUSTER_SCOPED:
        return ""
    if given:
        return given
    if kind == "ConfigMap" and name.startswith("argocd-"):
        return "argocd"
    return _FIXED.get(kind, "default")


def _body(body: Any, namespace: str) -> Any:
    if not isinstance(body, dict):
        return body
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "namespace"}
    if namespace:
        meta["namespace"] = namespace
    return {**body, "metadata": meta}


def _old_unique(conn: sa.Connection) -> str | None:
    for uc in sa.inspect(conn).get_unique_constraints("resources"):
        if list(uc["column_names"]) == ["kind", "namespace", "name"]:
            return uc.get("name")
    return None


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "resources", sa.Column("api_group", sa.String(253), nullable=False, server_default="")
    )
    rows = conn.execute(
        sa.select(
            _resources.c.id,
            _resources.c.kind,
            _resources.c.namespace,
            _resources.c.name,
            _resources.c.api_version,
            _resources.c.body,
        )
    ).all()
    for row in rows:
        ns = _namespace(row.kind, row.name, row.namespace or "")
        conn.execute(
            _resources.update()
            .where(_resources.c.id == row.id)
            .values(
                api_group=str(row.api_version).rpartition("/")[0],
                namespace=ns,
                body=_body(row.body, ns),
            )
        )
    if conn.dialect.name == "sqlite":
        # SQLite's unique constraint has no name; the naming convention gives the
        # reflected one a name so the table rebuild can leave it out.
        with op.batch_alter_table("resources", naming_convention=_NAMING) as batch:
            batch.drop_constraint("uq_resources_kind", type_="unique")
            batch.create_unique_constraint(
                "uq_resources_ref", ["api_group", "kind", "namespace", "name"]
            )
    else:
        old = _old_unique(conn)
        if old:
            op.drop_constraint(old, "resources", type_="unique")
        op.create_unique_constraint(
            "uq_resources_ref", "resources", ["api_group", "kind", "namespace", "name"]
        )


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_constraint("uq_resources_ref", type_="unique")
        batch.drop_column("api_group")
        batch.create_unique_constraint("uq_resources_kind", ["kind", "namespace", "name"])
