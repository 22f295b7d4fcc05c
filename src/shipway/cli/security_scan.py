"""``shipway image sbom|scan`` and ``shipway vuln db import|status``.

Thin: parses options, calls ``shipway.security.sbom`` and
``shipway.security.vuln``, renders results. ``image scan`` exits 1 when
``--fail-on`` is met, 2 on bad input (a malformed ignore file, an unknown
severity), 3 when the database or the image is missing. ``vuln db import``
imports what it can and exits 2 when some records were malformed (each named
``file:line: reason`` on stderr).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from shipway.cli import output as out
from shipway.model.errors import InputError

SBOM_FORMATS = ["table", "json", "cyclonedx-json", "spdx-json"]
SCAN_FORMATS = ["table", "json", "yaml", "sarif"]
DEFAULT_IGNORE_FILES = (".trivyignore", ".trivyignore.yaml", ".grype.yaml")

_insecure = click.option(
    "--insecure", is_flag=True, default=None, help="Plain HTTP / no TLS verification."
)
_db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    help="Database file (default: $SHIPWAY_HOME/vuln/osv.db).",
)


@click.command("sbom")
@click.argument("ref")
@click.option("-o", "--output", type=click.Choice(SBOM_FORMATS), default="table", show_default=True)
@click.option("--no-cache", is_flag=True, help="Walk the layers again even when an SBOM is kept.")
@_insecure
def sbom_cmd(ref: str, output: str, no_cache: bool, insecure: bool | None) -> None:
    """List the packages in REF (a registry image, a built name or oci:DIR[:TAG])."""
    from shipway.images.store import Store
    from shipway.security.sbom import sbom_for
    from shipway.security.sbom.image import rendered

    store = Store()
    sbom = sbom_for(ref, insecure=insecure, cache=not no_cache, store=store)
    if output in ("cyclonedx-json", "spdx-json"):
        click.echo(rendered(store, sbom, output))
    elif output == "json":
        click.echo(json.dumps(sbom.as_dict(), indent=2))
    else:
        rows = [(p.name, p.version, p.type, p.layer[7:19], "/" + p.path) for p in sbom.packages]
        out.table(["name", "version", "type", "layer", "location"], rows)


def _severities(text: str) -> tuple[str, ...]:
    from shipway.security.vuln.severity import parse_level

    try:
        return tuple(parse_level(s) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise InputError(str(exc), subject="--severity") from exc


def _rules(ignorefiles: tuple[Path, ...], vex: tuple[Path, ...]) -> list:  # type: ignore[type-arg]
    from shipway.security.vuln import ignore
    from shipway.security.vuln import vex as vex_mod

    files = list(ignorefiles) or [Path(n) for n in DEFAULT_IGNORE_FILES if Path(n).is_file()]
    rules = []
    for f in files:
        rules.extend(ignore.load(_read(f), str(f)))
    for f in vex:
        rules.append(vex_mod.parse(_read(f), str(f)))
    return rules


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", subject=str(path)) from exc


@click.command("scan")
@click.argument("ref")
@click.option("--severity", default="UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL", show_default=True,
              help="Report only these severities (comma-separated).")  # fmt: skip
@click.option("--ignore-unfixed", is_flag=True, help="Drop findings with no fixed version.")
@click.option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
@click.option(
    "--ignorefile",
    "ignorefiles",
    multiple=True,
    type=click.Path(path_type=Path),
    help=".trivyignore, .trivyignore.yaml or .grype.yaml (default: those in .).",
)
@click.option("--vex", multiple=True, type=click.Path(path_type=Path), help="OpenVEX document.")
@click.option("-o", "--output", type=click.Choice(SCAN_FORMATS), default="table", show_default=True)
@_db_option
@_insecure
def scan_cmd(
    ref: str,
    severity: str,
    ignore_unfixed: bool,
    fail_on: str | None,
    ignorefiles: tuple[Path, ...],
    vex: tuple[Path, ...],
    output: str,
    db_path: Path | None,
    insecure: bool | None,
) -> None:
    """Scan REF for known vulnerabilities with the local OSV database (no network)."""
    from shipway.security.sbom import sbom_for
    from shipway.security.vuln import ScanOptions, VulnDB, scan
    from shipway.security.vuln.severity import parse_level

    try:
        fail = parse_level(fail_on) if fail_on else None
    except ValueError as exc:
        raise InputError(str(exc), subject="--fail-on") from exc
    opts = ScanOptions(_severities(severity), ignore_unfixed, fail, _rules(ignorefiles, vex))
    with VulnDB(db_path) as db:
        report = scan(sbom_for(ref, insecure=insecure), db, opts)
    if output == "sarif":
        from shipway.security.vuln import sarif

        click.echo(json.dumps(sarif.render(report), indent=2))
    elif not out.emit(report.as_dict(), output):
        rows = [
            (f.id, f.package, f.installed, ", ".join(f.fixed), f.severity, f.layer[7:19], f.path)
            for f in report.findings
        ]
        out.table(["id", "package", "installed", "fixed", "severity", "layer", "location"], rows)
        counts = ", ".join(f"{k}: {v}" for k, v in report.counts().items() if v)
        click.echo(
            f"{report.image}: {len(report.findings)} findings ({counts or 'none'}), "
            f"{len(report.ignored)} ignored, {report.packages} packages",
            err=True,
        )
    if report.failed:
        raise SystemExit(1)


@click.group()
def vuln() -> None:
    """The offline vulnerability database (OSV records)."""


@vuln.group("db")
def db_group() -> None:
    """Import OSV records; show what the database holds."""


@db_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_db_option
@out.data_output_option
def import_cmd(paths: tuple[Path, ...], db_path: Path | None, output: str) -> None:
    """Load OSV records: JSON files, directories of them, or OSV's per-ecosystem zips."""
    from shipway.model.errors import NotFoundError
    from shipway.security.vuln import VulnDB

    for p in paths:
        if not p.exists():
            raise NotFoundError("no such file or directory", subject=str(p))
    files = imported = 0
    problems: list[dict[str, str | None]] = []
    with VulnDB(db_path, create=True) as db:
        for p in paths:
            rep = db.import_path(p)
            files, imported = files + rep.files, imported + rep.imported
            problems += rep.as_dict()["problems"]
            for prob in rep.problems:
                out.stderr.print(out.error_line(str(prob)), soft_wrap=True)
    data = {"files": files, "imported": imported, "problems": problems}
    if not out.emit(data, output):
        bad = f", {len(problems)} malformed" if problems else ""
        click.echo(f"imported {imported} records from {files} files{bad}")
    if problems:
        raise SystemExit(2)


@db_group.command("status")
@_db_option
@out.data_output_option
def status_cmd(db_path: Path | None, output: str) -> None:
    """Records, ecosystems and the last import of the database."""
    from shipway.security.vuln import VulnDB

    with VulnDB(db_path) as db:
        st = db.status()
    if out.emit(st, output):
        return
    rows = [("path", st["path"]), ("records", st["records"]), ("imported at", st["importedAt"]),
            ("last source", st["lastSource"]), ("size", st["size"])]  # fmt: skip
    rows += [(f"ecosystem {k}", v) for k, v in st["ecosystems"].items()]
    out.table(["field", "value"], rows)


def register() -> list[click.Command]:
    """Attach ``sbom`` and ``scan`` to ``shipway image``."""
    from shipway.cli.image import image

    image.add_command(sbom_cmd)
    image.add_command(scan_cmd)
    return []
