"""``shipway policy test|lint``: manifest policies, as ``conftest test`` and ``kube-linter lint``.

``policy test -p POLICY_DIR -f MANIFESTS`` evaluates Rego policies (conftest's
rules: ``deny``/``violation``/``warn``) on every document of every file and
prints conftest's lines (``FAIL - file - namespace - message``) and summary.
Exit codes as conftest: 0 clean, 1 failures (with ``--fail-on-warn``: 1 for
warnings, 2 for failures), 2 for bad input (a Rego syntax error names
file:line:col). ``policy lint -f MANIFESTS`` runs the built-in checks of
kube-linter's default set; exit 1 when anything is found.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from shipway.cli import output as out

files_option = click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Manifest file or directory (or give them as arguments, as conftest; - is stdin).",
)
file_args = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


def _inputs(files: tuple[Path, ...], paths: tuple[Path, ...]) -> tuple[Path, ...]:
    given = (*files, *paths)
    if not given:
        raise click.UsageError("give the manifests: FILE... or -f FILE")
    return given


def _documents(paths: tuple[Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    from shipway.model import bounded
    from shipway.model.errors import InputError

    docs: list[tuple[str, dict[str, Any]]] = []
    for base in paths:
        if str(base) == "-":  # conftest test -: the documents on stdin
            text = bounded.read_bytes_limited(sys.stdin.buffer.read(), "-")
            docs += [("-", d) for d in bounded.load_yaml_all(text, "-") if isinstance(d, dict)]
            continue
        if not base.exists():
            raise InputError("no such file or directory", subject=str(base))
        files = (
            [base]
            if base.is_file()
            else sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
        )
        for f in files:
            text = bounded.read_bytes_limited(f.read_bytes(), str(f))
            for doc in bounded.load_yaml_all(text, str(f)):
                if isinstance(doc, dict):
                    docs.append((str(f), doc))
    return docs


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@click.group()
def policy() -> None:
    """Manifest policies: conftest-style Rego, and kube-linter's default checks."""


@policy.command("test")
@click.option(
    "-p",
    "--policy",
    "policy_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    default=(Path("policy"),),
    show_default=True,
    help="Rego policy file or directory.",
)
@files_option
@file_args
@click.option(
    "-d",
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Data files (JSON/YAML) for the policies.",
)
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Rego package (main).")
@click.option("--all-namespaces", is_flag=True, help="Every package the policies define.")
@click.option("--fail-on-warn", is_flag=True, help="Warnings exit 1, failures 2.")
@click.option("-o", "--output", type=click.Choice(["stdout", "table", "json"]), default="stdout")
def test_cmd(
    policy_paths: tuple[Path, ...],
    files: tuple[Path, ...],
    paths: tuple[Path, ...],
    data: tuple[Path, ...],
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    fail_on_warn: bool,
    output: str,
) -> None:
    """Test MANIFESTS against Rego policies, as ``conftest test``."""
    from shipway.security.policy import rego

    policies = rego.load(list(policy_paths), list(data))
    wanted = None if all_namespaces else list(namespaces or ("main",))
    outcomes = rego.evaluate(policies, _documents(_inputs(files, paths)), wanted)
    fails = sum(len(o.failures) for o in outcomes)
    warns = sum(len(o.warnings) for o in outcomes)
    excs = sum(len(o.exceptions) for o in outcomes)
    passed = sum(o.successes for o in outcomes)
    if output == "json":
        click.echo(json.dumps([_as_json(o) for o in outcomes], indent=4))
    elif output == "table":
        rows = [
            (f.severity, o.file, o.namespace, f.message)
            for o in outcomes
            for f in [*o.failures, *o.warnings, *o.exceptions]
        ]
        out.table(["RESULT", "FILE", "NAMESPACE", "MESSAGE"], rows)
    else:
        for o in outcomes:  # conftest's order: warnings, failures, exceptions
            where = "-" if o.file == "-" else f"- {o.file}"  # stdin, as conftest prints it
            for word, found in (("WARN", o.warnings), ("FAIL", o.failures), ("EXCP", o.exceptions)):
                for f in found:
                    click.echo(f"{word} {where} - {o.namespace} - {f.message}")
        total = passed + fails + warns + excs
        click.echo("")
        click.echo(
            f"{_plural(total, 'test')}, {passed} passed, {_plural(warns, 'warning')}, "
            f"{_plural(fails, 'failure')}, {_plural(excs, 'exception')}"
        )
    if fail_on_warn:
        raise SystemExit(2 if fails else 1 if warns else 0)
    raise SystemExit(1 if fails else 0)


def _as_json(o: Any) -> dict[str, Any]:
    return {
        "filename": o.file,
        "namespace": o.namespace,
        "successes": o.successes,
        "failures": [
            {"msg": f.message, "metadata": {"query": f"data.{o.namespace}.{f.check}"}}
            for f in o.failures
        ],
        "warnings": [{"msg": f.message} for f in o.warnings],
        "exceptions": [{"msg": f.message} for f in o.exceptions],
    }


@policy.command("lint")
@files_option
@file_args
@click.option("--exclude", "excluded", multiple=True, help="A check to skip (repeatable).")
@out.data_output_option
def lint_cmd(
    files: tuple[Path, ...], paths: tuple[Path, ...], excluded: tuple[str, ...], output: str
) -> None:
    """Run kube-linter's default checks (shipway's own implementation) on MANIFESTS."""
    from shipway.model.errors import InputError
    from shipway.security.policy import lint

    unknown = sorted(set(excluded) - set(lint.CHECKS))
    if unknown:
        raise InputError(f"unknown check(s) {', '.join(unknown)}; checks: {', '.join(lint.CHECKS)}")
    docs = _documents(_inputs(files, paths))
    where = {id(d): f for f, d in docs}
    findings = lint.run([d for _, d in docs], frozenset(excluded))
    objects = {lint.object_name(d): where[id(d)] for _, d in docs}
    if out.emit([f.as_dict() | {"file": objects.get(f.object, "")} for f in findings], output):
        raise SystemExit(1 if findings else 0)
    for f in findings:
        click.echo(f"{objects.get(f.object, '')}: ({f.object}) {f.message} (check: {f.check})")
    click.echo("")
    click.echo(
        "No lint errors found!" if not findings else f"Error: found {len(findings)} lint errors"
    )
    raise SystemExit(1 if findings else 0)
