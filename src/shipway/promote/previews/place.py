"""Where a preview runs: its Application's target, the URL it is reached at there, and
the namespace made for it on a cluster.

``url`` gives the loopback port allocated on the podman host (``store.previews``),
else on a cluster the first published Service port or Ingress host of the live
objects (``urls.preview_url``, the node being the API server's host). ``target``
connects the Application's destination (None once the Application is gone);
``delete_namespace`` removes the preview's namespace from a cluster, which keeps
one ``CreateNamespace`` made, as Argo CD does. Touches the store and the target
(through ``deploy.compare``).
"""

from __future__ import annotations

import contextlib
import logging

from shipway import cluster
from shipway.cluster.podman import PodmanTarget
from shipway.deploy import compare
from shipway.model.errors import ClusterError, NotFoundError
from shipway.promote.previews import urls
from shipway.settings import Settings
from shipway.store import previews as store_previews
from shipway.store.db import Store

log = logging.getLogger("shipway.previews")


def target(store: Store, settings: Settings, instance: str) -> cluster.Target | None:
    with contextlib.suppress(NotFoundError):
        return compare.context(store, instance, settings, None, fetch=False).target
    return None


def url(store: Store, settings: Settings, preview: str, instance: str) -> str:
    """The preview's URL ('' when nothing is published)."""
    ports = store_previews.ports_of(store, preview)
    if ports:
        return f"http://127.0.0.1:{min(ports.values())}/"
    where = target(store, settings, instance)
    if where is None or isinstance(where, PodmanTarget):
        return ""
    try:
        live = where.live(instance)
    except ClusterError as exc:
        log.warning("preview %s: no live objects for its URL: %s", preview, exc)
        return ""
    client = getattr(getattr(where, "dyn", None), "client", None)
    server = str(getattr(getattr(client, "configuration", None), "host", "") or "")
    return urls.preview_url(live.values(), urls.node_host(server))


def delete_namespace(where: cluster.Target | None, instance: str, namespace: str) -> None:
    """Delete ``namespace`` from a cluster target (nothing on podman)."""
    if not namespace or where is None or isinstance(where, PodmanTarget):
        return
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    failed = [r.message for r in where.delete(instance, [ns]) if r.status == "SyncFailed"]
    if failed:
        raise ClusterError(f"namespace {namespace}: {'; '.join(failed)}",
                           subject=f"Namespace/{namespace}")  # fmt: skip
