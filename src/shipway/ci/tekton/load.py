"""Read Tekton resources from YAML files and check them before anything runs.

Pure: takes ``(text, file)`` pairs, returns a ``Bundle`` of ``Doc``s; raises
one ``InputError`` naming every problem with ``file:line:col`` (unknown
fields, wrong types, missing fields, duplicate names, a ``taskRef`` to no
Task, ``runAfter`` to no task, a cycle, a ``$(params.x)`` no param declares,
``$(tasks.t.results.r)`` of no task), as the API server and Tekton's webhook
reject them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.plan.dag import find_cycle
from shipway.ci.tekton import companions, schema
from shipway.ci.tekton.params import declared_type
from shipway.ci.tekton.schema import Path, dotted
from shipway.ci.tekton.subst import refs_deep
from shipway.model.errors import InputError
from shipway.model.yamlsrc import Located, load_documents

GROUP = "tekton.dev"
KINDS = ("Task", "ClusterTask", "TaskRun", "Pipeline", "PipelineRun", "StepAction")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENVELOPE = {"apiVersion", "kind", "metadata", "spec", "status"}


@dataclass
class Doc:
    kind: str
    version: str  # v1, v1beta1, v1alpha1
    name: str
    body: dict[str, Any]
    located: Located

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    def where(self, path: Path) -> str:
        return self.located.where(path)


@dataclass
class Bundle:
    docs: list[Doc]
    companions: list[companions.Companion] = field(default_factory=list)  # ConfigMaps...

    def find(self, kind: str, name: str) -> Doc | None:
        # a taskRef's kind other than ClusterTask is a Task to Tekton (``kind: task`` too)
        kinds = (kind,) if kind in ("Pipeline", "PipelineRun", "TaskRun", "StepAction") else (
            "Task", "ClusterTask")  # fmt: skip
        return next((d for d in self.docs if d.kind in kinds and d.name == name), None)

    def runs(self) -> list[Doc]:
        return [d for d in self.docs if d.kind in ("TaskRun", "PipelineRun")]


@dataclass
class Scope:
    """The param and workspace names an embedded spec sees without declaring them (Tekton
    propagates a run's and a pipeline's params and workspaces into embedded specs)."""

    params: set[str] = field(default_factory=set)
    workspaces: set[str] = field(default_factory=set)


def _names_of(items: Any) -> set[str]:
    return {str(i["name"]) for i in items or [] if isinstance(i, dict) and i.get("name")}


def _runs_scope(doc: Doc, bundle: Bundle) -> Scope:
    """What the PipelineRuns of ``bundle`` that run the Pipeline ``doc`` give it."""
    scope = Scope()
    for run in bundle.docs:
        ref = run.spec.get("pipelineRef") if run.kind == "PipelineRun" else None
        if isinstance(ref, dict) and ref.get("name") == doc.name:
            scope.params |= _names_of(run.spec.get("params"))
            scope.workspaces |= _names_of(run.spec.get("workspaces"))
    return scope


class Problems:
    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def add(self, doc: Located, path: Path, message: str) -> None:
        line, col = doc.locate(path)
        self.errors.append(InputError(message, file=doc.file, line=line, column=col))

    def raise_all(self) -> None:
        if self.errors:
            found = sorted(self.errors, key=lambda e: (e.file or "", e.line or 0, e.column or 0))
            first = found[0]
            first.message = "\n".join([first.message, *(str(e) for e in found[1:])])
            raise first


def load(files: list[tuple[str, str]]) -> Bundle:
    """Every Tekton document of ``files``, checked; ``InputError`` with all problems."""
    p = Problems()
    docs: list[Doc] = []
    others: list[companions.Companion] = []
    for text, file in files:
        for located in load_documents(text, file):
            data = located.data
            if isinstance(data, dict) and companions.is_companion(data.get("apiVersion"),
                                                                  data.get("kind")):  # fmt: skip
                other, problems = companions.read(data)
                for path, message in problems:
                    p.add(located, path, message)
                others.append(other)
                continue
            doc = _envelope(located, p)
            if doc is not None:
                docs.append(doc)
    bundle = Bundle(docs, others)
    seen: dict[tuple[str, str], Doc] = {}
    for doc in docs:
        if doc.name and (doc.kind, doc.name) in seen:
            p.add(doc.located, ("metadata", "name"), f"{doc.kind} {doc.name!r} is defined twice")
        seen[(doc.kind, doc.name)] = doc
        check_doc(doc, bundle, p)
    p.raise_all()
    return bundle


def _envelope(located: Located, p: Problems) -> Doc | None:
    data = located.data
    if not isinstance(data, dict):
        p.add(located, (), "a resource must be a mapping")
        return None
    api, kind = data.get("apiVersion"), data.get("kind")
    group, _, version = str(api or "").partition("/")
    if group != GROUP or kind not in KINDS:
        p.add(located, ("kind",) if group == GROUP else ("apiVersion",),
              f"not a Tekton resource: apiVersion {api!r}, kind {kind!r} "
              f"(expected {GROUP}/v1 {', '.join(KINDS)}, or the v1 ConfigMap, Secret, "
              "PersistentVolumeClaim or ServiceAccount they use)")  # fmt: skip
        return None
    if (version, kind) not in schema.SPECS:
        served = sorted(v for v, k in schema.SPECS if k == kind)
        p.add(located, ("apiVersion",), f"no kind {kind!r} in version {api!r} (served: "
              f"{', '.join(f'{GROUP}/{v}' for v in served)})")  # fmt: skip
        return None
    for key in data:
        if key not in _ENVELOPE:
            p.add(located, (key,), f'unknown field "{key}"')
    meta = data.get("metadata")
    for path, message in schema.check(meta if meta is not None else {}, schema.METADATA,
                                      ("metadata",)):  # fmt: skip
        p.add(located, path, message)
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name") or ""
    runs = kind in ("TaskRun", "PipelineRun")
    if not name and not (runs and meta.get("generateName")):
        p.add(located, ("metadata",), "missing field(s): metadata.name"
              + (" (or metadata.generateName)" if runs else ""))  # fmt: skip
    if "spec" not in data:
        p.add(located, (), "missing field(s): spec")
    else:
        for path, message in schema.check(data["spec"], schema.SPECS[(version, kind)], ("spec",)):
            p.add(located, path, message)
    return Doc(kind, version, str(name), data, located)


def check_doc(doc: Doc, bundle: Bundle, p: Problems) -> None:
    spec = doc.spec
    if doc.kind in ("Task", "ClusterTask"):
        check_task_spec(doc, spec, ("spec",), bundle, p)
    elif doc.kind == "Pipeline":
        check_pipeline_spec(doc, spec, ("spec",), bundle, p, _runs_scope(doc, bundle), False)
    elif doc.kind == "TaskRun":
        _one_of(doc, spec, ("spec",), ("taskRef", "taskSpec"), p)
        if isinstance(spec.get("taskSpec"), dict):
            run = Scope(_names_of(spec.get("params")), _names_of(spec.get("workspaces")))
            check_task_spec(doc, spec["taskSpec"], ("spec", "taskSpec"), bundle, p, run)
        _ref(doc, spec.get("taskRef"), ("spec", "taskRef"), "Task", bundle, p)
    elif doc.kind == "PipelineRun":
        _one_of(doc, spec, ("spec",), ("pipelineRef", "pipelineSpec"), p)
        if isinstance(spec.get("pipelineSpec"), dict):
            run = Scope(_names_of(spec.get("params")), _names_of(spec.get("workspaces")))
            check_pipeline_spec(doc, spec["pipelineSpec"], ("spec", "pipelineSpec"), bundle, p,
                                run, True)  # fmt: skip
        _ref(doc, spec.get("pipelineRef"), ("spec", "pipelineRef"), "Pipeline", bundle, p)
    elif doc.kind == "StepAction":
        _one_of(doc, spec, ("spec",), ("script", "command"), p, need=False)
        _params_used(doc, spec, ("spec",), spec.get("params"), p)


def _one_of(doc: Doc, spec: dict[str, Any], path: Path, keys: tuple[str, str], p: Problems,
            need: bool = True) -> None:  # fmt: skip
    have = [k for k in keys if k in spec]
    if len(have) == 2:
        p.add(doc.located, (*path, keys[1]), "expected exactly one, got both: "
              + ", ".join(dotted((*path, k)) for k in keys))  # fmt: skip
    elif not have and need:
        p.add(doc.located, path, "expected exactly one, got neither: "
              + ", ".join(dotted((*path, k)) for k in keys))  # fmt: skip


def _ref(doc: Doc, ref: Any, path: Path, kind: str, bundle: Bundle, p: Problems) -> None:
    if not isinstance(ref, dict):
        return
    if ref.get("resolver") or ref.get("bundle"):
        p.add(doc.located, path, f"{dotted(path)}: remote resolution is not served here "
              f"(put the {kind} in a file given with -f)")  # fmt: skip
        return
    name = ref.get("name")
    if not name:
        p.add(doc.located, path, f"missing field(s): {dotted((*path, 'name'))}")
    elif bundle.find(str(ref.get("kind") or kind), str(name)) is None:
        p.add(doc.located, (*path, "name"), f"{ref.get('kind') or kind} {name!r} is not "
              "defined in the files given")  # fmt: skip


def _names(doc: Doc, items: Any, path: Path, what: str, p: Problems, label: bool) -> list[str]:
    names: list[str] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            p.add(doc.located, (*path, i, "name"), f"{what} name {name!r} is not unique")
        elif label and not _DNS_LABEL.match(name):
            p.add(doc.located, (*path, i, "name"), f"invalid value: {name!r}: "
                  f"{dotted((*path, i, 'name'))} (a DNS-1123 label)")  # fmt: skip
        names.append(name)
    return names


def _params_used(doc: Doc, value: Any, path: Path, specs: Any, p: Problems) -> None:
    declared = {s.get("name") for s in specs or [] if isinstance(s, dict)}
    _vars_used(doc, value, path, "params", declared, p)


def _vars_used(doc: Doc, value: Any, path: Path, root: str, declared: set[Any],
               p: Problems) -> None:  # fmt: skip
    """Each ``$(root.name)`` inside ``value`` names something declared (Tekton's webhook)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _vars_used(doc, v, (*path, k), root, declared, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _vars_used(doc, v, (*path, i), root, declared, p)
    elif isinstance(value, str):
        for ref in refs_deep(value):
            if ref.parts[0] == root and ref.parts[1] not in declared:
                names = sorted(map(str, declared)) or "none"
                p.add(doc.located, path, f"non-existent variable in {value.strip()[:80]!r}: "
                      f"{ref.text} ({root} declares {names})")  # fmt: skip


def check_task_spec(doc: Doc, spec: dict[str, Any], path: Path, bundle: Bundle,
                    p: Problems, outer: Scope | None = None) -> None:  # fmt: skip
    """A Task's spec; ``outer``: what an embedded spec sees undeclared (None: a Task)."""
    outer = outer or Scope()
    steps = spec.get("steps")
    if not steps:
        p.add(doc.located, path, f"missing field(s): {dotted((*path, 'steps'))}")
    _names(doc, steps, (*path, "steps"), "step", p, label=True)
    _names(doc, spec.get("sidecars"), (*path, "sidecars"), "sidecar", p, label=True)
    _names(doc, spec.get("params"), (*path, "params"), "param", p, label=False)
    results = _names(doc, spec.get("results"), (*path, "results"), "result", p, label=False)
    workspaces = _names(doc, spec.get("workspaces"), (*path, "workspaces"), "workspace", p,
                        label=False)  # fmt: skip
    _volumes_refused(doc, spec, path, p)
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        at = (*path, "steps", i)
        if "script" in step and "command" in step:
            p.add(doc.located, (*at, "script"), "expected exactly one, got both: "
                  f"{dotted((*at, 'command'))}, {dotted((*at, 'script'))}")  # fmt: skip
        ref = step.get("ref")
        if isinstance(ref, dict):
            for key in ("image", "command", "args", "script", "env"):
                if key in step:
                    p.add(doc.located, (*at, key), f"{dotted((*at, key))} cannot be set with "
                          "a StepAction ref")  # fmt: skip
            _ref(doc, ref, (*at, "ref"), "StepAction", bundle, p)
    used = {k: v for k, v in spec.items() if k in ("steps", "sidecars", "stepTemplate")}
    _vars_used(doc, used, path, "params", _names_of(spec.get("params")) | outer.params, p)
    _array_usage(doc, spec, path, p)
    _vars_used(doc, used, path, "workspaces", set(workspaces) | outer.workspaces, p)
    _vars_used(doc, used, path, "results", set(results), p)


_NO_VOLUMES = (
    "not served here: a Task's own volumes and volumeMounts (bind a workspace "
    "instead: emptyDir, configMap, secret or persistentVolumeClaim, with mountPath)"
)


def _volumes_refused(doc: Doc, spec: dict[str, Any], path: Path, p: Problems) -> None:
    """Task ``volumes`` and container ``volumeMounts`` are refused rather than ignored."""
    if spec.get("volumes"):
        p.add(doc.located, (*path, "volumes"), f"{dotted((*path, 'volumes'))}: {_NO_VOLUMES}")
    places: list[tuple[Path, Any]] = [((*path, "stepTemplate"), spec.get("stepTemplate"))]
    for key in ("steps", "sidecars"):
        items = spec.get(key)
        if isinstance(items, list):
            places += [((*path, key, i), c) for i, c in enumerate(items)]
    for at, container in places:
        if isinstance(container, dict) and container.get("volumeMounts"):
            where = (*at, "volumeMounts")
            p.add(doc.located, where, f"{dotted(where)}: {_NO_VOLUMES}")


def _array_usage(doc: Doc, spec: dict[str, Any], path: Path, p: Problems) -> None:
    """Array and object params whole only where Tekton allows them: ``$(params.a[*])`` as an
    element of ``command``/``args``; inside a string an element (``[i]``) or key (``.k``)."""
    kinds = {str(s.get("name")): declared_type(s) for s in spec.get("params") or []
             if isinstance(s, dict)}  # fmt: skip
    for i, step in enumerate(spec.get("steps") or []):
        if not isinstance(step, dict):
            continue
        for key, value in step.items():
            items = value if key in ("command", "args") and isinstance(value, list) else [value]
            if key == "params" and isinstance(value, list):  # a StepAction's params: values
                items = [v.get("value") if isinstance(v, dict) else v for v in value]
            for j, item in enumerate(items):
                for ref in refs_deep(item):
                    kind = kinds.get(ref.parts[1]) if ref.parts[0] == "params" else None
                    if kind not in ("array", "object") or len(ref.parts) > 2:
                        continue
                    # $(params.a[*]) or, for an array, $(params.a): Tekton splices both
                    spliced = ref.index == "*" or (ref.index is None and kind == "array")
                    whole = isinstance(item, str) and item.strip() == ref.text and (
                        (key in ("command", "args") and spliced)
                        or (key == "params" and ref.index in ("*", None)))  # fmt: skip
                    if not whole and not (ref.index and ref.index != "*"):
                        at = (*path, "steps", i, key, *((j,) if len(items) > 1 or key in (
                            "command", "args", "params") else ()))  # fmt: skip
                        p.add(doc.located, at, f"variable type invalid in {ref.text}: the "
                              f"{kind} param {ref.parts[1]!r} is used as a string (use "
                              f"$(params.{ref.parts[1]}[*]) as a whole element of command "
                              "or args, or one element or key)")  # fmt: skip


def check_pipeline_spec(doc: Doc, spec: dict[str, Any], path: Path, bundle: Bundle,
                        p: Problems, run: Scope, embedded: bool) -> None:  # fmt: skip
    """A Pipeline's spec; ``run``: what the PipelineRuns give it, ``embedded``: it is a
    PipelineRun's ``pipelineSpec`` (the run's params and workspaces propagate into it)."""
    tasks = [t for t in spec.get("tasks") or [] if isinstance(t, dict)]
    finals = [t for t in spec.get("finally") or [] if isinstance(t, dict)]
    if not tasks:
        p.add(doc.located, path, f"missing field(s): {dotted((*path, 'tasks'))}")
    names = _names(doc, spec.get("tasks"), (*path, "tasks"), "pipeline task", p, label=True)
    final_names = _names(doc, spec.get("finally"), (*path, "finally"), "finally task", p,
                         label=True)  # fmt: skip
    for name in set(names) & set(final_names):
        p.add(doc.located, (*path, "finally"), f"pipeline task name {name!r} is not unique "
              "(a task and a finally task)")  # fmt: skip
    declared_ws = _names_of(spec.get("workspaces")) | (run.workspaces if embedded else set())
    pipeline_params = _names_of(spec.get("params")) | (run.params if embedded else set())
    graph: dict[str, list[str]] = {}
    for section, items in (("tasks", tasks), ("finally", finals)):
        for i, task in enumerate(items):
            at: Path = (*path, section, i)
            _one_of(doc, task, at, ("taskRef", "taskSpec"), p)
            if isinstance(task.get("taskSpec"), dict):
                inherited = Scope(
                    pipeline_params
                    | run.params
                    | _names_of(task.get("params"))
                    | _matrix_names(task),
                    declared_ws | run.workspaces,
                )
                check_task_spec(doc, task["taskSpec"], (*at, "taskSpec"), bundle, p, inherited)
            _ref(doc, task.get("taskRef"), (*at, "taskRef"), "Task", bundle, p)
            if task.get("onError") == "continue" and task.get("retries"):
                p.add(doc.located, (*at, "onError"), "invalid value: PipelineTask OnError "
                      "cannot be set to continue when Retries is greater than 0")  # fmt: skip
            after = [str(a) for a in task.get("runAfter") or []]
            if section == "finally" and after:
                p.add(doc.located, (*at, "runAfter"), "invalid value: runAfter: finally "
                      "tasks cannot have runAfter")  # fmt: skip
            for j, a in enumerate(after):
                if a not in names:
                    p.add(doc.located, (*at, "runAfter", j), f"invalid value: {a}: "
                          f"{dotted((*at, 'runAfter', j))} (no pipeline task {a!r})")  # fmt: skip
            deps = set(after)
            where = {k: v for k, v in task.items() if k in ("params", "when", "matrix")}
            for ref in refs_deep(where):
                if ref.parts[0] != "tasks" or len(ref.parts) < 3:
                    continue
                target = ref.parts[1]
                if target in final_names:
                    p.add(doc.located, at, f"invalid value: {ref.text}: no task, finally or "
                          "not, can use the results of a finally task")  # fmt: skip
                elif target not in names and target not in final_names:
                    p.add(doc.located, at, f"invalid value: {ref.text}: no pipeline task "
                          f"{target!r}")  # fmt: skip
                elif section == "tasks" and ref.parts[2] in ("results", "matrix"):
                    deps.add(target)
                elif section == "tasks" and ref.parts[2] in ("status", "reason"):
                    p.add(doc.located, at, f"invalid value: {ref.text}: $(tasks.<name>.status) "
                          "is only for finally tasks")  # fmt: skip
            if section == "tasks":
                graph[str(task.get("name"))] = sorted(deps)
            for j, w in enumerate(task.get("workspaces") or []):
                bound = w.get("workspace", w.get("name")) if isinstance(w, dict) else None
                if bound not in declared_ws:
                    p.add(doc.located, (*at, "workspaces", j), f"pipeline task "
                          f"{task.get('name')!r} binds workspace {bound!r}, which the "
                          "pipeline does not declare")  # fmt: skip
            for key in ("pipelineRef", "pipelineSpec"):
                if key in task:
                    p.add(doc.located, (*at, key), f"{dotted((*at, key))}: pipelines in "
                          "pipelines are not served here")  # fmt: skip
            tref = task.get("taskRef")
            if isinstance(tref, dict) and tref.get("apiVersion") and not str(
                    tref["apiVersion"]).startswith(GROUP + "/"):  # fmt: skip
                p.add(doc.located, (*at, "taskRef"), f"custom task {tref['apiVersion']} "
                      f"{tref.get('kind')}: custom tasks are not served here")  # fmt: skip
            for j, when in enumerate(task.get("when") or []):
                if isinstance(when, dict) and "cel" in when:
                    p.add(doc.located, (*at, "when", j, "cel"), "CEL when expressions are not "
                          "served here (use input, operator and values)")  # fmt: skip
                elif isinstance(when, dict):
                    for key in ("input", "operator", "values"):
                        if key not in when:
                            p.add(doc.located, (*at, "when", j), "missing field(s): "
                                  f"{dotted((*at, 'when', j, key))}")  # fmt: skip
                    if when.get("values") == []:
                        p.add(doc.located, (*at, "when", j, "values"), "invalid value: "
                              "values: expecting non-empty values field")  # fmt: skip
    cycle = find_cycle({k: [d for d in v if d in graph] for k, v in graph.items()})
    if cycle:
        p.add(doc.located, (*path, "tasks"), "invalid value: cycle detected; task "
              f"{cycle[0]!r} depends on itself ({' -> '.join(cycle)})")  # fmt: skip
    for section, items in (("tasks", tasks), ("finally", finals)):
        for i, task in enumerate(items):
            at = (*path, section, i)
            # a task's displayName and matrix include names may name its matrix params
            named = {k: v for k, v in task.items() if k in ("displayName", "matrix")}
            _vars_used(doc, named, at, "params", pipeline_params | _matrix_names(task)
                       | _names_of(task.get("params")), p)  # fmt: skip
            rest = {k: v for k, v in task.items() if k not in ("taskSpec", *named)}
            _vars_used(doc, rest, at, "params", pipeline_params, p)
    _vars_used(doc, spec.get("results"), (*path, "results"), "params", pipeline_params, p)


def _matrix_names(task: dict[str, Any]) -> set[str]:
    matrix = task.get("matrix")
    if not isinstance(matrix, dict):
        return set()
    names = _names_of(matrix.get("params"))
    for inc in matrix.get("include") or []:
        if isinstance(inc, dict):
            names |= _names_of(inc.get("params"))
    return names
