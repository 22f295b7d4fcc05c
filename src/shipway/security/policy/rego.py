"""conftest-style Rego policies over manifests, evaluated with regopy (rego-cpp).

A policy directory holds ``.rego`` modules (``*_test.rego`` are tests, not
loaded). For each input document and each namespace (``main`` unless told),
the rules conftest reads are evaluated: ``deny``, ``violation`` and ``warn``,
and their ``deny_<name>``/``violation_<name>``/``warn_<name>`` variants. A
result is a string or an object with ``msg`` (``violation``'s form). Rules
named in the namespace's ``exception`` set (by ``<name>`` of ``deny_<name>``)
count as exceptions, not failures. Rego v1 syntax (``deny contains msg if``)
and the older ``deny[msg] { ... }`` both work.

A syntax error is an ``InputError`` naming ``file:line:col`` and the reason, every
error at once. rego-cpp prints its diagnostics on the process's stdout, so
evaluation runs with file descriptor 1 pointed at /dev/null, under a lock.
Touches the policy files it is given.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.security.policy.lint import Finding

_LOCK = threading.Lock()
_ERROR = re.compile(
    r"\(error \d+:(?P<file>[^|]*)\|(?P<off>\d+)\|(?P<len>\d+)\s*"
    r"\(errormsg \d+:(?P<msg>[^)\n]*)"
)
_KINDS = {"deny": "failure", "violation": "failure", "warn": "warning"}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    with _LOCK:
        saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)


@dataclass
class PolicySet:
    """Loaded Rego modules: ``(file name, source)`` pairs and data documents."""

    modules: list[tuple[str, str]]
    data: dict[str, Any] = field(default_factory=dict)


def load(paths: list[Path], data_paths: list[Path] | None = None) -> PolicySet:
    """Every ``.rego`` file under ``paths`` (not ``*_test.rego``); data from JSON/YAML files."""
    modules: list[tuple[str, str]] = []
    for base in paths:
        files = [base] if base.is_file() else sorted(base.rglob("*.rego"))
        if not base.exists():
            raise InputError("no such policy file or directory", subject=str(base))
        for f in files:
            if f.name.endswith("_test.rego"):
                continue
            try:
                modules.append((str(f), f.read_text()))
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read policy: {exc}", subject=str(f)) from None
    if not modules:
        raise InputError("no .rego policies found", subject=", ".join(map(str, paths)))
    data: dict[str, Any] = {}
    for dp in data_paths or []:
        for f in [dp] if dp.is_file() else sorted(p for p in dp.rglob("*") if p.is_file()):
            if f.suffix in (".json", ".yaml", ".yml"):
                for doc in bounded.load_yaml_all(f.read_text(), str(f)):
                    if isinstance(doc, dict):
                        data.update(doc)
    return PolicySet(modules, data)


def _position(source: str, offset: int) -> tuple[int, int]:
    before = source.encode()[:offset].decode(errors="replace")
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def _errors(text: str, policies: PolicySet) -> list[str]:
    sources = dict(policies.modules)
    out = []
    for m in _ERROR.finditer(text):
        name, msg = m.group("file"), m.group("msg").strip()
        if name in sources:
            line, col = _position(sources[name], int(m.group("off")))
            out.append(f"{name}:{line}:{col}: {msg}")
        else:
            out.append(f"{name or 'policy'}: {msg}")
    return out or [text.strip().splitlines()[0] if text.strip() else "Rego evaluation failed"]


def _interpreter(policies: PolicySet) -> Any:
    from regopy import Interpreter

    rego = Interpreter()
    for name, source in policies.modules:
        rego.add_module(name, source)
    if policies.data:
        rego.add_data_json(json.dumps(policies.data))
    return rego


def _messages(value: Any) -> list[str]:
    """Rule results as messages: a set (list), or an object of ``key: true`` (old syntax)."""
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict) and all(v is True for v in value.values()):
        items = []
        for key in value:
            try:
                items.append(json.loads(key) if str(key).startswith("{") else key)
            except ValueError:
                items.append(key)
    elif isinstance(value, str | dict):
        items = [value]
    else:
        items = []
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(str(item.get("msg", json.dumps(item, sort_keys=True))))
        else:
            out.append(str(item))
    return out


def _flat(value: Any) -> list[Any]:
    """conftest's ``exception`` set: lists of rule names (any nesting, either syntax)."""
    if isinstance(value, dict):
        value = [json.loads(k) if str(k).startswith("[") else k for k in value]
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


@dataclass
class Outcome:
    """One document's results in one namespace (conftest's CheckResult)."""

    file: str
    namespace: str
    successes: int = 0
    failures: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    exceptions: list[Finding] = field(default_factory=list)


def evaluate(
    policies: PolicySet,
    documents: list[tuple[str, dict[str, Any]]],
    namespaces: list[str] | None = None,
) -> list[Outcome]:
    """Each ``(file, document)`` against the policies; ``namespaces`` None means all of them."""
    from regopy import RegoError

    out: list[Outcome] = []
    with _quiet_stdout():
        try:
            rego = _interpreter(policies)
            rego.set_input({})
            everything = rego.query("x = data")
        except RegoError as exc:
            raise InputError("; ".join(_errors(str(exc), policies)), subject="policy") from None
        if not everything.ok():
            raise InputError("; ".join(_errors(str(everything), policies)), subject="policy")
        tree = json.loads(everything.binding("x").json())
        found = sorted(_namespaces({k: v for k, v in tree.items() if k not in policies.data}))
        wanted = found if namespaces is None else [n for n in namespaces if n in found]
        for file, doc in documents:
            rego.set_input(doc)
            for ns in wanted:
                result = rego.query(f"x = data.{ns}")
                if not result.ok():
                    raise InputError("; ".join(_errors(str(result), policies)), subject=file)
                out.append(_outcome(file, ns, json.loads(result.binding("x").json())))
    return out


def _is_rule(key: str) -> bool:
    return key.partition("_")[0] in _KINDS or key == "exception"


def _namespaces(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Packages in the data tree that define conftest rules (``k8s.extra`` for nested ones)."""
    out = []
    for key, value in tree.items():
        if not isinstance(value, dict) or _is_rule(key):
            continue
        name = f"{prefix}{key}"
        if any(_is_rule(k) for k in value):
            out.append(name)
        out += _namespaces(value, f"{name}.")
    return out


def _outcome(file: str, ns: str, values: dict[str, Any]) -> Outcome:
    res = Outcome(file, ns)
    excepted = {str(name) for name in _flat(values.get("exception", []))}
    for rule, value in sorted(values.items()):
        base, _, suffix = rule.partition("_")
        if base not in _KINDS:
            continue
        msgs = _messages(value)
        if not msgs:
            res.successes += 1
            continue
        for msg in msgs:
            finding = Finding(rule, file, msg, _KINDS[base], f"rego:{ns}")
            if suffix and suffix in excepted:
                res.exceptions.append(finding)
            elif base == "warn":
                res.warnings.append(finding)
            else:
                res.failures.append(finding)
    return res
