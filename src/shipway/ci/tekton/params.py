"""Tekton params: declared types, defaults, given values, and the variables they make.

Pure. ``resolve(specs, given)`` returns the values by name plus problems
(a missing value with no default, a value of the wrong type, a value not in
``enum``), as Tekton reports them before anything runs. ``param_vars``
makes the ``params.x`` variables ``subst`` reads.
"""

from __future__ import annotations

from typing import Any


def declared_type(spec: dict[str, Any]) -> str:
    """A param's type: as written, else what its default is (Tekton infers it), else string."""
    if spec.get("type"):
        return str(spec["type"])
    default = spec.get("default")
    if isinstance(default, list):
        return "array"
    if isinstance(default, dict) or spec.get("properties"):
        return "object"
    return "string"


def value_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def _as_string(value: Any) -> Any:
    """YAML numbers and booleans given as param values are strings to Tekton."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_as_string(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _as_string(v) for k, v in value.items()}
    return value


def resolve(
    specs: list[dict[str, Any]], given: dict[str, Any], what: str
) -> tuple[dict[str, Any], list[str]]:
    """Each declared param's value (given, else default) and every problem, for ``what``
    (``Task "build"``)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in specs:
        name = str(spec.get("name", ""))
        kind = declared_type(spec)
        if name in given:
            value = _as_string(given[name])
        elif "default" in spec:
            value = _as_string(spec["default"])
        else:
            problems.append(f"{what}: missing parameter {name!r} (it has no default)")
            continue
        if value_type(value) != kind:
            problems.append(f"{what}: parameter {name!r} is {kind}, got {value_type(value)}")
            continue
        if kind == "object":
            default = spec.get("default") if isinstance(spec.get("default"), dict) else {}
            value = {**_as_string(default), **value}  # keys not given keep their default
            missing = sorted(set(spec.get("properties") or {}) - set(value))
            if missing:
                problems.append(f"{what}: parameter {name!r} misses the keys {missing}")
        enum = spec.get("enum")
        if enum and kind == "string" and value not in enum:
            problems.append(f"{what}: parameter {name!r} value {value!r} is not in the "
                            f"enum list {enum}")  # fmt: skip
        values[name] = value
    return values, problems


def param_vars(values: dict[str, Any]) -> dict[str, Any]:
    """``params.<name>`` -> value, for ``subst``."""
    return {f"params.{k}": v for k, v in values.items()}


def given_map(params: list[dict[str, Any]] | None) -> dict[str, Any]:
    """``[{name, value}]`` as a mapping."""
    return {str(p.get("name")): p.get("value") for p in params or [] if isinstance(p, dict)}
