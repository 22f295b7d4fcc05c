"""The tasks of one sync and their order, as Argo CD's gitops-engine orders them. Pure.

A task is one object in one phase: each resource to apply or prune is a
``Sync`` task; a hook is one task per sync phase it names (``PreSync``,
``Sync``, ``PostSync``, ``SyncFail``). Tasks are ordered by phase, then wave,
then kind (``KIND_ORDER``: Namespaces, config and CRDs before workloads;
kinds not listed, custom resources, last), then name. Then dependencies
move up: a Namespace goes just before the first task of an object in it,
and a CustomResourceDefinition just before the first object of its kind,
each taking that task's phase and wave.

Pruned objects run in the mirror of their wave (the highest prune wave
first, so deletion reverses creation), before that wave's applies; with
``PruneLast`` (the app's option or the object's) in a wave of their own after
the last ``Sync`` wave. A hook that has only ``metadata.generateName`` gets a
name that is the same for the whole operation (so a resumed sync finds it):
``generateName`` + the revision's first 7 characters + ``-phase-`` + the
operation's start (Unix seconds), lower case.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipway.deploy.diff import OUT_OF_SYNC, ObjectDiff
from shipway.deploy.render import key_of
from shipway.deploy.sync import markers as ann

Obj = dict[str, Any]

KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]
_RANK = {k: i for i, k in enumerate(KIND_ORDER)}
PHASE_ORDER = {p: i for i, p in enumerate(ann.SYNC_PHASES)}


def kind_rank(kind: str) -> int:
    return _RANK.get(kind, len(KIND_ORDER))


def sort_key(obj: Obj) -> tuple[int, int, str]:
    """An object's place within its phase: wave, kind, name."""
    return ann.wave_of(obj), kind_rank(str(obj.get("kind"))), str(obj["metadata"]["name"])


@dataclass
class Task:
    """One object in one phase: applied (a resource or a hook) or pruned."""

    phase: str
    wave: int
    obj: Obj  # the object to apply (a hook with its name resolved), or the live one to prune
    hook: bool = False
    prune: bool = False

    @property
    def key(self) -> str:
        return key_of(self.obj)

    @property
    def id(self) -> str:
        """Unique in a sync: a hook in two phases is two tasks."""
        return f"{self.phase}:{self.key}"

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name"))

    @property
    def hook_type(self) -> str:
        """Argo CD's ``hookType``: the phase for a hook, empty for a resource."""
        return self.phase if self.hook else ""

    def sort_key(self) -> tuple[int, int, int, str, str]:
        meta = self.obj.get("metadata") or {}
        return (
            PHASE_ORDER[self.phase],
            self.wave,
            kind_rank(self.kind),
            self.name,
            str(meta.get("namespace") or ""),
        )


@dataclass
class Step:
    """The tasks of one phase and wave: prunes run first, then applies, in order."""

    phase: str
    wave: int
    tasks: list[Task]

    @property
    def prunes(self) -> list[Task]:
        return [t for t in self.tasks if t.prune]

    @property
    def applies(self) -> list[Task]:
        return [t for t in self.tasks if not t.prune]

    @property
    def has_hooks(self) -> bool:
        return any(t.hook for t in self.tasks)

    @property
    def label(self) -> str:
        return f"{self.phase} wave {self.wave}"


@dataclass
class Plan:
    """A sync's tasks in order (``SyncFail`` hooks apart) and the prunes it skips."""

    tasks: list[Task]
    sync_fail: list[Task] = field(default_factory=list)
    skipped_prune: list[Obj] = field(default_factory=list)
    multi_step: bool = False  # more than one phase/wave: each step waits for health

    def steps(self) -> list[Step]:
        out: list[Step] = []
        for t in self.tasks:
            if out and (out[-1].phase, out[-1].wave) == (t.phase, t.wave):
                out[-1].tasks.append(t)
            else:
                out.append(Step(t.phase, t.wave, [t]))
        return out

    def waits_for_health(self, step: Step, last: bool) -> bool:
        """Whether the resources of ``step`` must be healthy before the sync goes on.

        As Argo CD: only in a sync of several steps, and not after the last step
        when it holds no hook (a plain apply succeeds as soon as it is applied).
        Hooks are always waited for.
        """
        return self.multi_step and not (last and not step.has_hooks)


def hook_name(hook: Obj, phase: str, revision: str, started: int) -> str:
    """The name of a hook that has only ``generateName`` (see the module docstring)."""
    prefix = str((hook.get("metadata") or {}).get("generateName") or "")
    rev = revision[:7] if len(revision) >= 8 else revision
    return prefix + f"{rev}-{phase}-{started}".lower()


def hook_tasks(hooks: Iterable[Obj], revision: str, started: int) -> list[Task]:
    out = []
    for hook in hooks:
        for phase in ann.hook_phases(hook):
            obj = copy.deepcopy(hook)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                meta["name"] = hook_name(hook, phase, revision, started)
                meta.pop("generateName", None)
            out.append(Task(phase, ann.wave_of(hook), obj, hook=True))
    return out


def plan(
    diffs: Sequence[ObjectDiff],
    hooks: Iterable[Obj] = (),
    *,
    prune: bool,
    apply_out_of_sync_only: bool = False,
    prune_last: bool = False,
    revision: str = "",
    started: int = 0,
) -> Plan:
    """The tasks of a sync from the comparison's diffs and the app's hook manifests.

    ``apply_out_of_sync_only`` leaves out resources already in sync (hooks and
    prunes stay); ``started`` (Unix seconds) and ``revision`` name
    ``generateName`` hooks.
    """
    tasks: list[Task] = []
    in_sync: list[Task] = []
    skipped: list[Obj] = []
    for d in diffs:
        if d.desired is not None:
            if ann.hook_of(d.desired) is not None:
                continue
            task = Task(ann.SYNC, ann.wave_of(d.desired), d.desired)
            skip = apply_out_of_sync_only and d.status != OUT_OF_SYNC
            (in_sync if skip else tasks).append(task)
        elif d.live is not None:
            if not prune or "Prune=false" in ann.sync_options(d.live):
                skipped.append(d.live)
            else:
                tasks.append(Task(ann.SYNC, ann.wave_of(d.live), d.live, prune=True))
    every = tasks + hook_tasks(hooks, revision, started)
    _mirror_prune_waves(every, prune_last)
    every.sort(key=Task.sort_key)
    _adjust(every, _namespace_dep, _namespace_ref)
    _adjust(every, _crd_dep, _crd_ref)
    skipped.sort(key=sort_key, reverse=True)
    steps = {(t.phase, t.wave) for t in every + in_sync}
    return Plan(
        tasks=[t for t in every if t.phase != ann.SYNC_FAIL],
        sync_fail=[t for t in every if t.phase == ann.SYNC_FAIL],
        skipped_prune=skipped,
        multi_step=len(steps) > 1,
    )


def _mirror_prune_waves(tasks: list[Task], prune_last: bool) -> None:
    prunes = [t for t in tasks if t.prune]
    waves = sorted({t.wave for t in prunes})
    mirror = dict(zip(waves, reversed(waves), strict=True))
    for t in prunes:
        t.wave = mirror[t.wave]
    last = max([0, *(t.wave for t in tasks if t.phase == ann.SYNC)]) + 1
    for t in prunes:
        if prune_last or "PruneLast=true" in ann.sync_options(t.obj):
            t.wave = last


def _adjust(
    tasks: list[Task],
    is_dep: Callable[[Obj], str | None],
    refers: Callable[[Obj], str | None],
) -> None:
    """Move each dependency just before the first task that needs it (in place)."""
    first: dict[str, int] = {}
    for i in range(len(tasks)):
        task = tasks[i]
        if task.prune:
            continue
        dep = is_dep(task.obj)
        if dep is not None:
            at = first.get(dep)
            if at is not None:
                task.phase, task.wave = tasks[at].phase, tasks[at].wave
                tasks.insert(at, tasks.pop(i))
                first = {k: v + 1 if v >= at else v for k, v in first.items()}
        else:
            ref = refers(task.obj)
            if ref is not None:
                first.setdefault(ref, i)


def _group(obj: Obj) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def _namespace_dep(obj: Obj) -> str | None:
    if obj.get("kind") == "Namespace" and _group(obj) == "":
        return str(obj["metadata"]["name"])
    return None


def _namespace_ref(obj: Obj) -> str | None:
    ns = (obj.get("metadata") or {}).get("namespace")
    return str(ns) if ns else None


def _crd_dep(obj: Obj) -> str | None:
    if obj.get("kind") != "CustomResourceDefinition":
        return None
    spec = obj.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    return f"{group}/{kind}" if group and kind else None


def _crd_ref(obj: Obj) -> str | None:
    return f"{_group(obj)}/{obj.get('kind')}"
