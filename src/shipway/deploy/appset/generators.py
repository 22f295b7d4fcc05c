"""ApplicationSet generators: each turns its spec and what ``Inputs`` hands it into parameters.

``generate(gen, ctx, where)`` returns ``Generated`` items: one parameter set
and the generator's own ``template`` (or None). Parameters are flat
``{"path.basename": "a"}`` with fasttemplate and nested
``{"path": {"basename": "a"}}`` with ``goTemplate``, as Argo CD makes them.
A generator's ``selector`` keeps the sets its labels match (on the flat
form). ``matrix`` renders its second child with each set of the first and
joins them; ``merge`` overrides the first child's sets with those of the
others that agree on every ``mergeKeys`` value. Errors are ``InputError``
whose message starts with the generator's path (``spec.generators[1].git``).
Pure: no I/O (``Inputs`` does it).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from shipway.deploy.appset import pullrequest, render
from shipway.deploy.appset.inputs import Inputs, Tree
from shipway.model import bounded
from shipway.model.errors import InputError, ShipwayError
from shipway.model.selectors import selector_matches as matches

Params = dict[str, Any]


def normalize(text: str) -> str:
    """ApplicationSet's ``normalize`` (a DNS-1123 subdomain), as its templates call it."""
    return str(render.go_funcs()["normalize"](text))


@dataclass(frozen=True)
class Generated:
    params: Params
    template: dict[str, Any] | None = None


@dataclass(frozen=True)
class Context:
    inputs: Inputs
    opts: render.Options
    namespace: str = "argocd"


def fail(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}")


def generate(gen: dict[str, Any], ctx: Context, where: str) -> list[Generated]:
    kind = next((k for k in _KINDS if gen.get(k) is not None), None)
    if kind is None:
        raise fail(where, "a generator needs one of " + ", ".join(_KINDS))
    body = gen[kind]
    here = f"{where}.{kind}"
    sets = _KINDS[kind](body, ctx, here)
    own = body.get("template") if isinstance(body, dict) else None
    out = [Generated(p, own) for p in sets]
    selector = gen.get("selector")
    if selector:
        out = [g for g in out if matches(selector, flat_labels(g.params))]
    return out


# -- list ---------------------------------------------------------------------------------


def _list(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    elements = list(body.get("elements") or [])
    text = body.get("elementsYaml") or ""
    if text:
        import yaml

        try:
            bounded.check_yaml(text, f"{where}.elementsYaml")
            more = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise fail(f"{where}.elementsYaml", f"not YAML: {exc}") from None
        if not isinstance(more, list):
            raise fail(f"{where}.elementsYaml", "must be a YAML list of mappings")
        elements += more
    out = []
    for i, el in enumerate(elements):
        if not isinstance(el, dict):
            raise fail(f"{where}.elements[{i}]", "an element must be a mapping")
        out.append(copy.deepcopy(el) if ctx.opts.go_template else _flat_element(el, where, i))
    return out


def _flat_element(el: dict[str, Any], where: str, i: int) -> Params:
    out: Params = {}
    for key, value in el.items():
        if key == "values" and isinstance(value, dict):
            out.update({f"values.{k}": _text(v) for k, v in value.items()})
        elif isinstance(value, dict | list):
            raise fail(f"{where}.elements[{i}].{key}", "a nested value needs goTemplate: true")
        else:
            out[str(key)] = _text(value)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# -- git ----------------------------------------------------------------------------------


def glob_regex(pattern: str, double_star: bool) -> re.Pattern[str]:
    """Go's ``path.Match`` (``*`` stays in one segment); ``**`` crosses them for files."""
    out, i = [], 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        c = pattern[i]
        if double_star and pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if double_star and pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("^") else body
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _chosen(paths: list[str], globs: list[dict[str, Any]], double_star: bool) -> list[str]:
    include = [glob_regex(str(g["path"]), double_star) for g in globs if not g.get("exclude")]
    exclude = [glob_regex(str(g["path"]), double_star) for g in globs if g.get("exclude")]
    return [
        p
        for p in sorted(paths)
        if any(r.match(p) for r in include) and not any(r.match(p) for r in exclude)
    ]


def _path_params(dir_path: str, file_name: str | None, go: bool, prefix: str) -> Params:
    segments = dir_path.split("/") if dir_path else []
    base = segments[-1] if segments else ""
    nested: Params = {
        "path": dir_path,
        "basename": base,
        "basenameNormalized": normalize(base),
        "segments": segments,
    }
    if file_name is not None:
        nested["filename"] = file_name
        nested["filenameNormalized"] = normalize(file_name)
    if go:
        inner: Params = {"path": nested}
        return {prefix: inner} if prefix else inner
    key = f"{prefix}.path" if prefix else "path"
    out: Params = {key: dir_path}
    for name, value in nested.items():
        if name == "segments":
            out.update({f"{key}[{n}]": s for n, s in enumerate(segments)})
        elif name != "path":
            out[f"{key}.{name}"] = value
    return out


def _git(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    url, rev = str(body["repoURL"]), str(body.get("revision") or "HEAD")
    try:
        tree = ctx.inputs.tree(url, rev)
    except ShipwayError as exc:
        raise fail(where, f"cannot read {url} at {rev}: {exc}") from None
    go, prefix = ctx.opts.go_template, str(body.get("pathParamPrefix") or "")
    sets: list[Params] = []
    if body.get("directories"):
        for d in _chosen(tree.dirs, body["directories"], False):
            sets.append(_path_params(d, None, go, prefix))
    else:
        for f in _chosen(tree.files, body.get("files") or [], True):
            sets += _file_sets(ctx, url, tree, f, where, prefix)
    values = body.get("values") or {}
    if values:
        for p in sets:
            rendered = {k: _value(str(v), p, ctx, f"{where}.values.{k}") for k, v in values.items()}
            if go:
                p["values"] = rendered
            else:
                p.update({f"values.{k}": v for k, v in rendered.items()})
    return sets


def _value(text: str, params: Params, ctx: Context, where: str) -> str:
    try:
        return render.string(text, params, ctx.opts, where)
    except ShipwayError as exc:
        raise fail(where, render.describe(exc)) from None


def _file_sets(
    ctx: Context, url: str, tree: Tree, path: str, where: str, prefix: str
) -> list[Params]:
    import yaml

    raw = ctx.inputs.read(url, tree.commit, path)
    text = bounded.read_bytes_limited(raw, path)  # a repository's file: bounded like any other
    bounded.check_yaml(text, path)
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise fail(where, f"{path} is not JSON or YAML: {exc}") from None
    items = data if isinstance(data, list) else [data]
    dir_path, _, file_name = path.rpartition("/")
    go = ctx.opts.go_template
    out = []
    for n, item in enumerate(items):
        if item is None:
            continue
        if not isinstance(item, dict):
            raise fail(where, f"{path}[{n}] must be a mapping")
        content = copy.deepcopy(item) if go else flatten(item)
        out.append({**content, **_path_params(dir_path, file_name, go, prefix)})
    return out


def flatten(value: dict[str, Any], prefix: str = "") -> Params:
    """Nested maps and lists as dotted keys with string values (``a.b``, ``list.0``)."""
    out: Params = {}
    for k, v in value.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list):
            out.update(flatten({str(i): x for i, x in enumerate(v)}, key + "."))
        else:
            out[key] = _text(v)
    return out


# -- clusters -----------------------------------------------------------------------------


def _clusters(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    selector = body.get("selector") or {}
    go = ctx.opts.go_template
    out = []
    for c in ctx.inputs.clusters():
        labels = {"argocd.argoproj.io/secret-type": "cluster", **c.labels}
        builtin = c.annotations.get("shipway.dev/builtin") == "true"
        if selector and (builtin or not matches(selector, labels)):
            continue  # as Argo CD: the local cluster has no secret, so no labels to select
        nested: Params = {
            "name": c.name,
            "nameNormalized": normalize(c.name),
            "server": c.server,
            "project": c.project,
            "metadata": {"labels": dict(labels), "annotations": dict(c.annotations)},
        }
        p = nested if go else flatten(nested)
        values = body.get("values") or {}
        if values:
            rendered = {k: _value(str(v), p, ctx, f"{where}.values.{k}") for k, v in values.items()}
            if go:
                p["values"] = rendered
            else:
                p.update({f"values.{k}": v for k, v in rendered.items()})
        out.append(p)
    return out


# -- pull requests ------------------------------------------------------------------------


def _pull_request(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    try:
        pulls = ctx.inputs.pulls(body, ctx.namespace)
    except ShipwayError as exc:
        raise fail(where, f"cannot list pull requests: {exc}") from None
    chosen = pullrequest.selected(pulls, body, where)
    return [pullrequest.params(pr, ctx.opts.go_template) for pr in chosen]


# -- matrix and merge ---------------------------------------------------------------------


def _matrix(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    children = list(body.get("generators") or [])
    if len(children) != 2:
        raise fail(where, "a matrix generator needs exactly two child generators")
    out = []
    for first in generate(children[0], ctx, f"{where}.generators[0]"):
        try:
            second_spec = render.walk(children[1], first.params, ctx.opts, frozenset({"template"}))
        except ShipwayError as exc:
            raise fail(f"{where}.generators[1]", render.describe(exc)) from None
        for second in generate(second_spec, ctx, f"{where}.generators[1]"):
            out.append(_join(first.params, second.params, ctx.opts.go_template, where))
    return out


def _join(a: Params, b: Params, go: bool, where: str) -> Params:
    if go:
        return render.merge_over(a, b)
    for k, v in b.items():
        if k in a and a[k] != v:
            raise fail(where, f"found duplicate key {k} with different value, a: {a[k]} ,b: {v}")
    return {**a, **b}


def lookup(params: Params, key: str) -> Any:
    if key in params:
        return params[key]
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _by_keys(sets: list[Params], keys: list[str], where: str) -> dict[str, Params]:
    out: dict[str, Params] = {}
    for p in sets:
        values = [lookup(p, k) for k in keys]
        if any(v is None for v in values):
            continue
        key = json.dumps(values, sort_keys=True, default=str)
        if key in out:
            raise fail(
                where,
                "the parameters from a generator were not unique by the given "
                f"mergeKeys, Merge requires all param sets to be unique. "
                f"Duplicate key was {key}",
            )
        out[key] = p
    return out


def _merge(body: dict[str, Any], ctx: Context, where: str) -> list[Params]:
    keys = [str(k) for k in body.get("mergeKeys") or []]
    children = list(body.get("generators") or [])
    if not keys:
        raise fail(where, "mergeKeys is required")
    if not children:
        raise fail(where, "a merge generator needs child generators")
    base = [g.params for g in generate(children[0], ctx, f"{where}.generators[0]")]
    _by_keys(base, keys, f"{where}.generators[0]")  # the base must be unique too
    for n, child in enumerate(children[1:], start=1):
        others = _by_keys(
            [g.params for g in generate(child, ctx, f"{where}.generators[{n}]")],
            keys,
            f"{where}.generators[{n}]",
        )
        merged = []
        for p in base:
            values = [lookup(p, k) for k in keys]
            match = others.get(json.dumps(values, sort_keys=True, default=str))
            merged.append(render.merge_over(p, match) if match is not None else p)
        base = merged
    return base


# -- selectors ----------------------------------------------------------------------------


def flat_labels(params: Params) -> dict[str, str]:
    """The parameters as labels for a ``selector`` (nested ones dotted)."""
    return {k: v for k, v in flatten(params).items()}


_KINDS = {
    "list": _list,
    "git": _git,
    "clusters": _clusters,
    "matrix": _matrix,
    "merge": _merge,
    "pullRequest": _pull_request,
}
