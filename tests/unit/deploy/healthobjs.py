"""Live-object fixtures for the health tests: Kubernetes-shaped dicts written for shipway."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def obj(
    api: str,
    kind: str,
    spec: Obj | None = None,
    status: Obj | None = None,
    *,
    generation: int | None = None,
    annotations: dict[str, str] | None = None,
    name: str = "x",
    **meta: Any,
) -> Obj:
    metadata: Obj = {"name": name, "namespace": "default", **meta}
    if generation is not None:
        metadata["generation"] = generation
    if annotations:
        metadata["annotations"] = annotations
    out: Obj = {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec or {}}
    if status is not None:
        out["status"] = status
    return out


def cond(ctype: str, status: str, reason: str = "", message: str = "", **extra: Any) -> Obj:
    return {"type": ctype, "status": status, "reason": reason, "message": message, **extra}


def conds(*items: Obj, **extra: Any) -> Obj:
    return {"conditions": list(items), **extra}
