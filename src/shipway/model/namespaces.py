"""Namespaces: which kinds have one, the namespace an object gets, and Argo CD's app names.

Every stored resource is identified by ``(group, kind, namespace, name)``, as in
Kubernetes. The rules (pure, no I/O; the CLI reads the current namespace from
``SHIPWAY_NAMESPACE`` or its context and passes it in as ``current``):

- **Cluster-scoped** kinds have no namespace (``""``): Kargo's ``Project``
  (which *is* a namespace) and ``ClusterPromotionTask``, Argo Rollouts'
  ``ClusterAnalysisTemplate``, and shipway's ``Cluster``. Kargo's Stage,
  Promotion, PromotionTask and ProjectConfig live in their Project's
  namespace. A ``Cluster`` is global as Argo CD's clusters are: an
  Application in any namespace names it in ``destination.name``, and
  ``kubectl`` users know clusters and contexts as cluster-wide things. A
  ``metadata.namespace`` on them is dropped.
- **Argo CD's** kinds (``Application``, ``AppProject``, ``ApplicationSet``) and its settings
  ConfigMaps (``argocd-*``: ``argocd-cm``, ``argocd-rbac-cm``...) default to
  ``argocd``, where Argo CD reads them.
- **Flux's** image kinds default to ``flux-system``, where Flux runs and where
  shipway has always resolved their references (``$imagepolicy`` setter
  markers name ``flux-system:NAME``).
- Every other kind defaults to the current namespace (``default``), as
  ``kubectl apply`` does.

Argo CD names an Application in the control-plane namespace by its name and
one elsewhere ``<namespace>/<name>`` (``argocd app get dev/web``); the label
and the tracking id it puts on live objects carry ``<namespace>_<name>``
(``instance``), since a label value cannot hold ``/``. Neither a DNS name nor
a namespace can contain ``_`` or ``/``, so both forms read back unambiguously
(``split_app``). Engines key applications by ``instance``: for an app in
``argocd`` that is its plain name, as before namespaces existed.
"""

from __future__ import annotations

ARGOCD = "argocd"
"""Argo CD's control-plane namespace: Applications, AppProjects and its ConfigMaps."""
FLUX = "flux-system"
DEFAULT = "default"
"""The current namespace when nothing configures one (``kubectl``'s default)."""

CLUSTER_SCOPED: frozenset[str] = frozenset(
    {
        "Namespace",
        "Cluster",
        "Project",
        "ClusterPromotionTask",
        "ClusterAnalysisTemplate",
        "ClusterPolicy",
        "ClusterTriggerBinding",
        "ClusterInterceptor",
    }
)
_FIXED: dict[str, str] = {
    "Application": ARGOCD,
    "AppProject": ARGOCD,
    "ApplicationSet": ARGOCD,
    "ImageRepository": FLUX,
    "ImagePolicy": FLUX,
    "ImageUpdateAutomation": FLUX,
}
BUILTIN: tuple[str, ...] = (DEFAULT, ARGOCD)
"""Namespaces that exist without anything in them (``get namespaces``)."""


def namespaced(kind: str) -> bool:
    return kind not in CLUSTER_SCOPED


def default_namespace(kind: str, name: str = "", current: str = DEFAULT) -> str:
    """The namespace of a ``kind`` object ``name`` that names none (``""``: cluster-scoped)."""
    if kind in CLUSTER_SCOPED:
        return ""
    if kind == "ConfigMap" and name.startswith("argocd-"):
        return ARGOCD
    return _FIXED.get(kind, current)


def resolve(kind: str, name: str, namespace: str | None, current: str = DEFAULT) -> str:
    """``namespace`` if given (none for a cluster-scoped kind), else the kind's default."""
    if kind in CLUSTER_SCOPED:
        return ""
    return namespace or default_namespace(kind, name, current)


def instance(namespace: str, name: str) -> str:
    """Argo CD's instance name of an Application: ``name`` in ``argocd``, else ``ns_name``."""
    return name if namespace in (ARGOCD, "") else f"{namespace}_{name}"


def qualified(namespace: str, name: str) -> str:
    """How a person names an Application: ``name`` in ``argocd``, else ``namespace/name``."""
    return name if namespace in (ARGOCD, "") else f"{namespace}/{name}"


def split_app(ref: str, namespace: str | None = None) -> tuple[str, str]:
    """``(namespace, name)`` of an app given as ``name``, ``ns/name`` or ``ns_name``.

    ``namespace`` (``-n``) applies to a plain name; a plain name without it is
    in ``argocd``.
    """
    for sep in ("/", "_"):
        ns, found, name = ref.partition(sep)
        if found and ns and name:
            return ns, name
    return namespace or ARGOCD, ref


def app_key(ref: str, namespace: str | None = None) -> str:
    """The engines' key (``instance``) of an app given in any of ``split_app``'s forms."""
    return instance(*split_app(ref, namespace))
