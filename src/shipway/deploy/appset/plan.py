"""What an ApplicationSet wants, and what to change to get there. Pure: no I/O.

``desired(appset, inputs)`` runs every generator, renders the template with
each parameter set and validates each result as an Application; every
problem is collected and raised at once as one ``InputError`` whose lines
name the ApplicationSet, the generator and the parameter set (a duplicate
generated name is one, as in Argo CD). Each Application is owned: an
``ownerReferences`` entry for its ApplicationSet and the label
``shipway.dev/applicationset: <name>`` (``OWNER_LABEL``).

``changes(wanted, existing, policy)`` pairs them with the Applications that
exist: ``applicationsSync`` ``sync`` (the default) creates, updates and
deletes; ``create-only`` only creates; ``create-update`` never deletes;
``create-delete`` never updates. An Application of the same name that this
ApplicationSet does not own is left alone and reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from shipway.deploy.appset import generators as gen
from shipway.deploy.appset import render
from shipway.deploy.appset.inputs import Inputs
from shipway.model.errors import InputError, ShipwayError
from shipway.model.resources import Resource

OWNER_LABEL = "shipway.dev/applicationset"
PRESERVE = "shipway.dev/preserve-resources-on-deletion"
"""An annotation on generated Applications: delete them without their resources."""
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_KEEP_ANNOTATIONS = ("argocd.argoproj.io/refresh",)


def owner_ref(appset: Resource) -> dict[str, Any]:
    return {
        "apiVersion": appset.api_version,
        "kind": "ApplicationSet",
        "name": appset.name,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(app: Resource, appset_name: str, appset_ns: str) -> bool:
    refs = app.metadata.get("ownerReferences") or []
    return app.namespace == appset_ns and any(
        r.get("kind") == "ApplicationSet" and r.get("name") == appset_name for r in refs
    )


def desired(appset: Resource, inputs: Inputs) -> list[dict[str, Any]]:
    """The Applications ``appset`` generates (one ``InputError`` naming every problem)."""
    spec = appset.spec
    opts = render.Options.of(spec)
    ctx = gen.Context(inputs, opts, appset.namespace)
    problems: list[str] = []
    apps: list[dict[str, Any]] = []
    sources: dict[tuple[str, str], str] = {}
    preserve = bool((spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion"))
    for i, g in enumerate(spec.get("generators") or []):
        where = f"spec.generators[{i}]"
        try:
            made = gen.generate(g, ctx, where)
        except InputError as exc:  # a file's own error (bounded reading) keeps its file:line
            at = exc.subject or ""
            problems.append(exc.message if not at else str(exc) if at.startswith(where)
                            else f"{where}: {exc}")  # fmt: skip
            continue
        for n, item in enumerate(made):
            template = render.generator_template(spec.get("template") or {}, item.template)
            try:
                app = render.application(
                    template,
                    item.params,
                    opts,
                    str(spec.get("templatePatch") or ""),
                    appset.namespace,
                )
            except ShipwayError as exc:
                problems.append(f"{_label(where, n, item.params)}: {render.describe(exc)}")
                continue
            bad = _check(app)
            if bad:
                problems += [f"{_label(where, n, item.params)}: {b}" for b in bad]
                continue
            key = (app["metadata"]["namespace"], app["metadata"]["name"])
            label = _label(where, n, item.params)
            if key in sources:
                problems.append(
                    f"{label}: ApplicationSet {appset.name} has duplicate generated "
                    f"Application {key[1]!r} (also from {sources[key]})"
                )
                continue
            sources[key] = label
            _own(app, appset, preserve)
            apps.append(app)
    if problems:
        raise InputError("\n".join(problems), subject=appset.key)
    return apps


def _label(where: str, n: int, params: dict[str, Any]) -> str:
    return f"{where} parameter set {n} ({_brief(params)})"


def _brief(params: dict[str, Any]) -> str:
    text = json.dumps(gen.flat_labels(params), sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _check(app: dict[str, Any]) -> list[str]:
    import pydantic

    from shipway.model.kinds import ApplicationSpec

    meta = app["metadata"]
    name = str(meta.get("name") or "")
    out = []
    if not name:
        out.append("the generated Application has no metadata.name")
    elif not _NAME.match(name) or len(name) > 253:
        out.append(f"generated Application name {name!r} is not a DNS subdomain name")
    try:
        ApplicationSpec.model_validate(app["spec"])
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err.get("loc", ()))
            out.append(
                f"Application {name or '?'}: spec.{path}: {err.get('msg')}".replace(
                    "spec.: ", "spec: "
                )
            )
    return out


def _own(app: dict[str, Any], appset: Resource, preserve: bool) -> None:
    meta = app["metadata"]
    meta["labels"] = {**(meta.get("labels") or {}), OWNER_LABEL: appset.name}
    if preserve:
        meta["annotations"] = {**(meta.get("annotations") or {}), PRESERVE: "true"}
    meta["ownerReferences"] = [owner_ref(appset)]


@dataclass
class Plan:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[Resource] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Changes the policy does not allow (``create-only`` ...), as messages."""
    conflicts: list[str] = field(default_factory=list)


def _merged(app: dict[str, Any], live: Resource, preserved: dict[str, list[str]]) -> dict[str, Any]:
    """The generated body, keeping what Argo CD keeps of the live one."""
    out: dict[str, Any] = json.loads(json.dumps(app))
    meta = out["metadata"]
    old_ann, old_labels = live.annotations, live.labels
    keep = [*_KEEP_ANNOTATIONS, *preserved.get("annotations", [])]
    ann = {k: old_ann[k] for k in keep if k in old_ann}
    labels = {k: old_labels[k] for k in preserved.get("labels", []) if k in old_labels}
    if ann or meta.get("annotations"):
        meta["annotations"] = {**ann, **(meta.get("annotations") or {})}
    if labels:
        meta["labels"] = {**labels, **meta["labels"]}
    return out


def changes(appset: Resource, wanted: list[dict[str, Any]], existing: list[Resource]) -> Plan:
    """Pair generated Applications with ``existing`` ones (all Applications that may clash)."""
    policy = str((appset.spec.get("syncPolicy") or {}).get("applicationsSync") or "sync")
    preserved = appset.spec.get("preservedFields") or {}
    live = {(r.namespace, r.name): r for r in existing}
    plan = Plan()
    seen = set()
    for app in wanted:
        key = (app["metadata"]["namespace"], app["metadata"]["name"])
        seen.add(key)
        found = live.get(key)
        if found is None:
            plan.create.append(app)
            continue
        if not owned_by(found, appset.name, appset.namespace):
            plan.conflicts.append(
                f"Application {key[1]!r} already exists in namespace "
                f"{key[0]!r} and is not owned by ApplicationSet "
                f"{appset.name}"
            )
            continue
        body = _merged(app, found, preserved)
        if _same(body, found.body):
            plan.unchanged.append(key[1])
        elif policy in ("create-only", "create-delete"):
            plan.held.append(
                f"Application {key[1]!r} differs; applicationsSync {policy} does not update it"
            )
        else:
            plan.update.append(body)
    for key, res in live.items():
        if key in seen or not owned_by(res, appset.name, appset.namespace):
            continue
        if policy in ("create-only", "create-update"):
            plan.held.append(
                f"Application {key[1]!r} is no longer generated; applicationsSync "
                f"{policy} does not delete it"
            )
        else:
            plan.delete.append(res)
    return plan


def _same(body: dict[str, Any], live: dict[str, Any]) -> bool:
    keys = ("metadata", "spec")
    return all(_norm(body.get(k)) == _norm(live.get(k)) for k in keys)


def _norm(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True)
