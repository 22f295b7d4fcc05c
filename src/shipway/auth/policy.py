"""The stored ``argocd-rbac-cm`` ConfigMap (``shipway apply``) as an enforcer, cached.

``Authorizer.allowed`` reads the ConfigMap and the accounts' ``--role``
bindings on each call and rebuilds the casbin enforcer only when either
changed. A ConfigMap that does not parse leaves only the built-in policy in
force (``admin`` can still fix it); ``error`` says why, and the controller
logs it. Touches the store only.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from shipway.auth import rbac
from shipway.auth.accounts import Identity
from shipway.model import namespaces
from shipway.model.errors import InputError, PermissionDeniedError
from shipway.store import accounts as store_accounts
from shipway.store import resources
from shipway.store.db import Store


def stored_policy(store: Store) -> rbac.Policy:
    """The stored ``argocd-rbac-cm`` (namespace ``argocd``) parsed; none → empty policy."""
    res = resources.find(store, "ConfigMap", rbac.CONFIGMAP, namespaces.ARGOCD)
    if res is None:
        return rbac.Policy()
    data = res.body.get("data") or {}
    name = f"{res.source}: ConfigMap/{rbac.CONFIGMAP}" if res.source else None
    key = tuple(sorted((str(k), str(v)) for k, v in data.items()))
    return _parsed(key, name or f"ConfigMap/{rbac.CONFIGMAP}")


@functools.lru_cache(maxsize=8)
def _parsed(data: tuple[tuple[str, str], ...], name: str) -> rbac.Policy:
    """The ConfigMap parsed once per content (every request reads it; it seldom changes).
    An ``InputError`` is not cached: a broken ConfigMap is parsed again, and named again."""
    return rbac.parse_configmap(dict(data), name)


class Authorizer:
    """Answers "may this identity do ACTION on RESOURCE OBJECT" from the stored policy."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: object = None
        self._enforcer: rbac.Enforcer | None = None
        self.error = ""

    def enforcer(self) -> rbac.Enforcer:
        try:
            policy = stored_policy(self.store)
            self.error = ""
        except InputError as exc:
            policy, self.error = rbac.Policy(), str(exc)
        bindings = [(a.name, a.role) for a in store_accounts.list_accounts(self.store) if a.role]
        policy = policy.with_bindings(bindings)
        with self._lock:
            if self._enforcer is None or self._key != policy:
                self._enforcer, self._key = rbac.Enforcer(policy), policy
            return self._enforcer

    def allowed(self, who: Identity, resource: str, action: str, obj: str) -> bool:
        return self.enforcer().allowed(who.name, who.claims, resource, action, obj)

    def object_filter(self, who: Identity, resource: str, action: str) -> Callable[[str], bool]:
        """``obj → allowed(who, resource, action, obj)`` for many objects (the policy read once)."""
        return self.enforcer().object_filter(who.name, who.claims, resource, action)

    def require(self, who: Identity, resource: str, action: str, obj: str) -> None:
        """``PermissionDeniedError`` naming what was refused, unless allowed."""
        if not self.allowed(who, resource, action, obj):
            raise PermissionDeniedError(
                f"permission denied: {resource}, {action}, {obj}, sub: {who.name}",
                subject=f"{resource}/{obj}",
            )
