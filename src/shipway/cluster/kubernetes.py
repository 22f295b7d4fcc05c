"""The Kubernetes target: discovery, server-side apply with a field manager, watches.

Uses the official client (``kubernetes``, its ``DynamicClient``): discovery
tells which kinds the cluster serves (a manifest of any other kind is a
``ComparisonError``); objects are applied with server-side apply as field
manager ``shipway`` (``force`` on, as Argo CD's server-side sync does;
``fieldValidation=Strict`` unless ``Validate=false``), or replaced with
``Replace=true``; ``CreateNamespace=true`` applies the
destination namespace first. Live state comes from ``kube_cache.LiveCache``
(list + watch of everything labelled ``app.kubernetes.io/instance``). API
errors become ``ClusterError`` (per object results carry the API's message:
404, 409 conflicts, 422 invalid).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes import watch as kwatch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from shipway.cluster import Result
from shipway.cluster.kube_cache import Gone, LiveCache, key_of
from shipway.model.errors import ClusterError

FIELD_MANAGER = "shipway"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
WATCHED = (
    "Namespace",
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "Ingress",
    "HorizontalPodAutoscaler",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
)
Obj = dict[str, Any]


def _api_client(spec: Mapping[str, Any]) -> kclient.ApiClient:
    if spec.get("kubeconfig"):
        api: kclient.ApiClient = kconfig.new_client_from_config(
            config_file=str(spec["kubeconfig"]), context=spec.get("context") or None
        )
        return api
    cfg = kclient.Configuration()
    cfg.host = str(spec["server"])
    return kclient.ApiClient(cfg)


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None) or getattr(exc, "summary", lambda: "")()
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        return str(json.loads(body).get("message") or body)
    except (ValueError, TypeError, AttributeError):
        return str(body or exc)


def _with_last_applied(meta: Obj, obj: Obj) -> Obj:
    """``meta`` with the last-applied annotation set to ``obj`` (``kubectl replace
    --save-config``): a replaced object has no server-side-apply record, so the
    three-way comparison reads what was applied from the annotation."""
    ann = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    saved = {**obj, "metadata": {**obj["metadata"], "annotations": ann}}
    saved.pop("status", None)
    if not ann:
        saved["metadata"].pop("annotations")
    text = json.dumps(saved, sort_keys=True, separators=(",", ":"))
    return {**meta, "annotations": {**ann, LAST_APPLIED: text}}


class KubernetesTarget:
    """A Kubernetes API server as a deployment target."""

    def __init__(
        self, spec: Mapping[str, Any], *, cache_dir: Path | None = None, watch: bool = True
    ) -> None:
        self.name = str(spec.get("context") or spec.get("server") or "kubernetes")
        try:
            api = _api_client(spec)
            digest = hashlib.sha256(str(api.configuration.host).encode()).hexdigest()[:12]
            cache = str(cache_dir / f"discovery-{digest}.json") if cache_dir else None
            self.dyn = DynamicClient(api, cache_file=cache)
            self.dyn.resources.invalidate_cache()
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(f"cannot reach the API server: {exc}", subject=self.name) from exc
        except kconfig.ConfigException as exc:
            raise ClusterError(f"bad kubeconfig: {exc}", subject=self.name) from exc
        self._kinds = self._discover()
        self._scopes: dict[tuple[str, str], bool | None] = {}
        self.cache = LiveCache(self._list, self._watch if watch else None)

    # -- discovery ------------------------------------------------------------

    def _discover(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for res in self.dyn.resources.search():
            if "/" in (getattr(res, "name", None) or "/") or not getattr(res, "kind", None):
                continue
            if res.kind.endswith("List") or not res.preferred:
                continue
            found.setdefault(res.kind, res)
        return found

    def known_kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def cluster_scoped(self, group: str, kind: str) -> bool | None:
        """Whether discovery serves ``group``/``kind`` cluster-scoped (None: not served)."""
        if (group, kind) in self._scopes:
            return self._scopes[(group, kind)]
        res = self._kinds.get(kind)
        if res is None or str(getattr(res, "group", "") or "") != group:
            found = [
                r
                for r in self.dyn.resources.search(kind=kind)
                if str(getattr(r, "group", "") or "") == group and "/" not in (r.name or "/")
            ]
            res = found[0] if found else None
        scoped = None if res is None else not res.namespaced
        self._scopes[(group, kind)] = scoped
        return scoped

    def _resource(self, obj: Obj) -> Any:
        try:
            return self.dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        except ResourceNotFoundError as exc:
            raise ClusterError(
                f"{obj['apiVersion']} {obj['kind']} is not served", subject=key_of(obj)
            ) from exc

    # -- live state -----------------------------------------------------------

    def _selector(self) -> str:
        return "app.kubernetes.io/instance"

    def _list(self, kind: str) -> tuple[list[Obj], str]:
        res = self._kinds[kind]
        try:
            out = self.dyn.get(res, label_selector=self._selector())
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError) as exc:
            raise ClusterError(f"list {kind}: {_message(exc)}", subject=self.name) from exc
        data = out.to_dict()
        items = data.get("items") or []
        for item in items:
            item.setdefault("apiVersion", res.group_version)
            item.setdefault("kind", kind)
        return items, str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, kind: str, rv: str) -> Iterator[tuple[str, Obj]]:
        res = self._kinds[kind]
        w = kwatch.Watch()
        try:
            for ev in w.stream(
                res.get,
                label_selector=self._selector(),
                resource_version=rv,
                serialize=False,
                timeout_seconds=240,
            ):
                obj = ev["raw_object"]
                if ev["type"] == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    continue
                if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    yield ev["type"], obj
        except ApiException as exc:
            if exc.status == 410:
                raise Gone() from exc
            raise

    def live(self, app: str) -> dict[str, Obj]:
        self.cache.ensure(k for k in WATCHED if k in self._kinds)
        return self.cache.objects(app)

    def live_version(self, app: str) -> str:
        return self.cache.version(app)

    def live_changes(self, token: int | None) -> tuple[int, set[str] | None]:
        """The apps whose live objects changed since ``token`` (the watch cache's log)."""
        return self.cache.changes(token)

    # -- changes ----------------------------------------------------------------

    def apply(
        self, app: str, objects: list[Obj], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        out = []
        if "CreateNamespace=true" in options:
            namespaces = {str((o.get("metadata") or {}).get("namespace") or "") for o in objects}
            for ns in sorted(namespaces - {""}):
                ns_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                self._apply_one(ns_obj, replace=False)
        validation = "Ignore" if "Validate=false" in options else "Strict"
        for obj in objects:
            out.append(
                self._apply_one(obj, replace="Replace=true" in options, validation=validation)
            )
        return out

    def _apply_one(self, obj: Obj, *, replace: bool, validation: str = "Strict") -> Result:
        key = key_of(obj)
        meta = obj.get("metadata") or {}
        try:
            res = self._resource(obj)
            ns = meta.get("namespace") if res.namespaced else None
            existing = (
                self.cache.objects_by_key(key) if hasattr(self.cache, "objects_by_key") else None
            )
            if replace:
                new = self._replace(res, obj, ns)
                action = "replaced"
            else:
                new = self.dyn.server_side_apply(
                    res,
                    body=obj,
                    name=meta["name"],
                    namespace=ns,
                    field_manager=FIELD_MANAGER,
                    force_conflicts=True,
                    query_params=[("fieldValidation", validation)],
                ).to_dict()
                action = "configured" if existing is not None else "applied"
        except ClusterError as exc:
            return Result(key, "SyncFailed", "failed", exc.message)
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError) as exc:
            return Result(key, "SyncFailed", "failed", _message(exc))
        self.cache.put(new)
        return Result(key, "Synced", action, f"{obj['kind'].lower()}/{meta['name']} {action}")

    def _replace(self, res: Any, obj: Obj, ns: str | None) -> Obj:
        name = obj["metadata"]["name"]
        try:
            cur = self.dyn.get(res, name=name, namespace=ns).to_dict()
        except (ApiException, DynamicApiError) as exc:
            if getattr(exc, "status", None) != 404:
                raise
            made = {**obj, "metadata": _with_last_applied(obj["metadata"], obj)}
            return dict(
                self.dyn.create(res, body=made, namespace=ns, field_manager=FIELD_MANAGER).to_dict()
            )
        meta = {**obj["metadata"], "resourceVersion": cur["metadata"]["resourceVersion"]}
        body = {**obj, "metadata": _with_last_applied(meta, obj)}
        return dict(
            self.dyn.replace(
                res, body=body, name=name, namespace=ns, field_manager=FIELD_MANAGER
            ).to_dict()
        )

    def delete(self, app: str, objects: list[Obj]) -> list[Result]:
        out = []
        for obj in objects:
            key = key_of(obj)
            meta = obj.get("metadata") or {}
            try:
                res = self._resource(obj)
                ns = meta.get("namespace") if res.namespaced else None
                self.dyn.delete(
                    res, name=meta["name"], namespace=ns, propagation_policy="Background"
                )
            except (ApiException, DynamicApiError) as exc:
                if getattr(exc, "status", None) != 404:
                    out.append(Result(key, "SyncFailed", "failed", _message(exc)))
                    continue
            except ClusterError as exc:
                out.append(Result(key, "SyncFailed", "failed", exc.message))
                continue
            self.cache.drop(obj)
            out.append(Result(key, "Pruned", "deleted", "pruned"))
        return out

    def close(self) -> None:
        self.cache.stop()
