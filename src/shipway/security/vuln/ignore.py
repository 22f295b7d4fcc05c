"""Ignore files read as-is: ``.trivyignore``, ``.trivyignore.yaml`` and ``.grype.yaml``.

Pure (text in, rules out). ``.trivyignore``: one id a line, ``#`` comments,
an optional ``exp:YYYY-MM-DD``. ``.trivyignore.yaml``: ``vulnerabilities``
entries with ``id``, ``paths`` (globs), ``purls`` (a purl without a version
matches every version; its qualifiers must be the package's, a ``distro`` written
as Trivy does, ``debian-12.1`` or ``3.18.4``, naming the same release as syft's
``debian-12`` or ``alpine-3.18.4``), ``statement`` and ``expired_at``; an expired entry
no longer ignores. An id matches a finding's id or one of its aliases, as
Trivy reports CVE ids. ``.grype.yaml``: ``ignore`` rules with
``vulnerability``, ``include-aliases``, ``fix-state`` (``fixed`` when the
finding has a fixed version, ``not-fixed`` otherwise), and ``package``
(``name``, ``version``, ``type`` and ``language`` in grype's words,
``location`` glob, ``upstream-name``) and ``match-type``
(``exact-direct-match``: the package's own name; ``exact-indirect-match``: its
source package's, as Debian advisories name them; ``cpe-match``: nothing here,
no CPE matching); every field given must match. ``vex-status`` (``not_affected``
or ``fixed``) with an optional ``vex-justification`` makes a rule about VEX
data, as grype reads it: it ignores nothing itself (the VEX documents given are
honoured on their own, as Trivy does), so it is read and changes nothing.
grype's augmenting statuses (``affected``, ``under_investigation``: putting
ignored findings back) and ``namespace`` (grype's database namespaces) are
refused, since ignoring them would widen the rule. Bad entries are
``InputError`` at ``file:line:col``, all of them at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from shipway.model import yamlsrc
from shipway.model.errors import InputError
from shipway.security.vuln.model import Finding, Rule

GRYPE_TYPES = {"deb": "deb", "apk": "apk", "pypi": "python", "npm": "npm", "golang": "go-module"}


def glob_match(pattern: str, path: str) -> bool:
    """``*`` within a path component, ``**`` across them, ``?`` one character."""
    rx, i, p = [], 0, pattern.lstrip("/")
    while i < len(p):
        if p.startswith("**/", i):
            rx.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            rx.append(".*")
            i += 2
        elif p[i] == "*":
            rx.append("[^/]*")
            i += 1
        elif p[i] == "?":
            rx.append("[^/]")
            i += 1
        else:
            rx.append(re.escape(p[i]))
            i += 1
    return re.fullmatch("".join(rx), path.lstrip("/")) is not None


def purl_matches(pattern: str, purl: str) -> bool:
    try:
        want, have = PackageURL.from_string(pattern), PackageURL.from_string(purl)
    except ValueError:
        return False
    if (want.type, want.namespace, want.name) != (have.type, have.namespace, have.name):
        return False
    if want.version and want.version != have.version:
        return False
    wq = want.qualifiers if isinstance(want.qualifiers, dict) else {}
    hq = have.qualifiers if isinstance(have.qualifiers, dict) else {}
    return all(
        _same_distro(v, hq.get(k)) if k == "distro" else hq.get(k) == v for k, v in wq.items()
    )


def _distro_version(value: str) -> str:
    """``debian-12`` (syft's words) and ``3.18.4`` (Trivy's, for Alpine) → the version."""
    m = re.fullmatch(r"(?:[a-z][a-z0-9._]*-)?(\d[\w.+~-]*)", value)
    return m.group(1) if m else value


def _same_distro(want: str, have: str | None) -> bool:
    """A ``distro`` qualifier as Trivy (``debian-12.1``, ``3.18.4``) or syft (``debian-12``,
    ``alpine-3.18.4``) writes it: the same release, at the precision both give."""
    if have is None:
        return False
    if want == have:
        return True
    w, h = _distro_version(want), _distro_version(have)
    if w == want and h == have:
        return False  # neither has a version: different names
    if "-" in want and "-" in have and want.split("-", 1)[0] != have.split("-", 1)[0]:
        return False  # debian-12 is not ubuntu-12
    return w == h or w.startswith(h + ".") or h.startswith(w + ".")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class TrivyRule:
    id: str
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    statement: str = ""
    expired_at: dt.date | None = None
    source: str = ""

    def suppresses(self, finding: Finding, image_digest: str, image: str = "") -> str | None:
        if self.expired_at is not None and self.expired_at < dt.datetime.now(dt.UTC).date():
            return None
        if self.id not in finding.ids:
            return None
        if self.paths and not any(glob_match(p, finding.path) for p in self.paths):
            return None
        if self.purls and not any(purl_matches(p, finding.purl) for p in self.purls):
            return None
        return f"{self.source}: {self.statement or 'ignored'}"


def parse_trivyignore(text: str, file: str) -> list[Rule]:
    rules: list[Rule] = []
    problems: list[InputError] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        exp = None
        for extra in fields[1:]:
            if extra.startswith("exp:") and _date(extra[4:]) is not None:
                exp = _date(extra[4:])
            else:
                problems.append(
                    InputError(f"unexpected {extra!r} (expected exp:YYYY-MM-DD)", file=file, line=n)
                )
        rules.append(TrivyRule(fields[0], expired_at=exp, source=f"{file}:{n}"))
    _raise(problems)
    return rules


def _raise(problems: list[InputError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputError("\n".join(str(p) for p in problems))


def _str_list(
    doc: Any, key: str, where: str, problems: list[InputError], loc: Any
) -> tuple[str, ...]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        problems.append(loc(f"{key} must be a list of strings"))
        return ()
    return tuple(value)


def parse_trivy_yaml(text: str, file: str) -> list[Rule]:
    doc = yamlsrc.load_one(text, file)
    data = doc.data or {}
    problems: list[InputError] = []

    def at(path: list[str | int]) -> Any:
        def make(reason: str) -> InputError:
            line, col = doc.locate(path)
            return InputError(reason, file=file, line=line, column=col)

        return make

    if not isinstance(data, dict):
        raise at([])("a .trivyignore.yaml is a mapping with a vulnerabilities list")
    rules: list[Rule] = []
    entries = data.get("vulnerabilities") or []
    if not isinstance(entries, list):
        raise at(["vulnerabilities"])("vulnerabilities must be a list")
    for i, e in enumerate(entries):
        loc = at(["vulnerabilities", i])
        if not isinstance(e, dict) or not isinstance(e.get("id"), str) or not e["id"]:
            problems.append(loc("each entry needs an id"))
            continue
        exp = e.get("expired_at")
        if exp is not None and _date(exp) is None:
            problems.append(
                at(["vulnerabilities", i, "expired_at"])("expired_at must be a date (YYYY-MM-DD)")
            )
        line, _ = doc.locate(["vulnerabilities", i])
        rules.append(
            TrivyRule(
                e["id"],
                paths=_str_list(e, "paths", file, problems, at(["vulnerabilities", i, "paths"])),
                purls=_str_list(e, "purls", file, problems, at(["vulnerabilities", i, "purls"])),
                statement=str(e.get("statement") or ""),
                expired_at=_date(exp),
                source=f"{file}:{line}",
            )
        )
    _raise(problems)
    return rules


@dataclass(frozen=True)
class GrypeRule:
    vulnerability: str = ""
    include_aliases: bool = False
    fix_state: str = ""
    name: str = ""
    version: str = ""
    type: str = ""
    location: str = ""
    upstream_name: str = ""
    language: str = ""
    match_type: str = ""
    vex_status: str = ""
    reason: str = ""
    source: str = ""

    def suppresses(self, finding: Finding, image_digest: str, image: str = "") -> str | None:
        if self.vex_status:
            return None  # about VEX data, which the VEX documents apply themselves
        ids = finding.ids if self.include_aliases else (finding.id,)
        checks = [
            not self.match_type or self.match_type == finding.match_type,
            not self.vulnerability or self.vulnerability in ids,
            not self.fix_state or self.fix_state == ("fixed" if finding.fixed else "not-fixed"),
            not self.name or self.name == finding.package,
            not self.version or self.version == finding.installed,
            not self.type or self.type == GRYPE_TYPES.get(finding.type, finding.type),
            not self.location or glob_match(self.location, finding.path),
            not self.upstream_name or self.upstream_name == finding.source_name,
            not self.language or self.language == GRYPE_LANGUAGES.get(finding.type, ""),
        ]
        if all(checks):
            return f"{self.source}: {self.reason or 'ignored'}"
        return None


_GRYPE_PKG = ("name", "version", "type", "location", "upstream-name", "language")
_GRYPE_RULE = ("vulnerability", "fix-state", "package", "reason", "include-aliases",
               "match-type", "vex-status", "vex-justification")  # fmt: skip
_GRYPE_UNSUPPORTED = ("namespace",)
FIX_STATES = ("fixed", "not-fixed", "wont-fix", "unknown")
MATCH_TYPES = ("exact-direct-match", "exact-indirect-match", "cpe-match")
VEX_FILTERS = ("not_affected", "fixed")
VEX_AUGMENT = ("affected", "under_investigation")
GRYPE_LANGUAGES = {"pypi": "python", "npm": "javascript", "golang": "go"}


def parse_grype_yaml(text: str, file: str) -> list[Rule]:
    doc = yamlsrc.load_one(text, file)
    data = doc.data or {}
    problems: list[InputError] = []

    def err(path: list[str | int], reason: str) -> InputError:
        line, col = doc.locate(path)
        return InputError(reason, file=file, line=line, column=col)

    entries = data.get("ignore") if isinstance(data, dict) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise err(["ignore"], "ignore must be a list of rules")
    rules: list[Rule] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            problems.append(err(["ignore", i], "a rule must be a mapping"))
            continue
        pkg = e.get("package") or {}
        if not isinstance(pkg, dict):
            problems.append(err(["ignore", i, "package"], "package must be a mapping"))
            pkg = {}
        for k in pkg:
            if k not in _GRYPE_PKG:
                problems.append(err(["ignore", i, "package", k], f"unknown package field {k!r}"))
        for k in e:
            if k in _GRYPE_UNSUPPORTED:  # refused rather than ignored: it would widen the rule
                problems.append(err(["ignore", i, k], f"{k} is not supported by shipway"))
            elif k not in _GRYPE_RULE:
                problems.append(err(["ignore", i, k], f"unknown rule field {k!r}"))
        state = str(e.get("fix-state") or "")
        if state and state not in FIX_STATES:
            problems.append(
                err(["ignore", i, "fix-state"], f"fix-state must be one of {', '.join(FIX_STATES)}")
            )
        mtype = str(e.get("match-type") or "")
        if mtype and mtype not in MATCH_TYPES:
            problems.append(
                err(
                    ["ignore", i, "match-type"],
                    f"match-type must be one of {', '.join(MATCH_TYPES)}",
                )
            )
        vex_status = str(e.get("vex-status") or "")
        if vex_status in VEX_AUGMENT:
            problems.append(err(["ignore", i, "vex-status"],
                                f"vex-status {vex_status} (grype's rules that put ignored findings "
                                "back) is not supported by shipway"))  # fmt: skip
        elif vex_status and vex_status not in VEX_FILTERS:
            problems.append(err(["ignore", i, "vex-status"],
                                "vex-status must be not_affected or fixed"))  # fmt: skip
        if e.get("vex-justification") and not vex_status:
            problems.append(err(["ignore", i, "vex-justification"],
                                "vex-justification needs vex-status"))  # fmt: skip
        if not (e.get("vulnerability") or pkg or state or mtype or vex_status):
            problems.append(err(["ignore", i], "a rule needs vulnerability, fix-state or package"))
        line, _ = doc.locate(["ignore", i])
        rules.append(
            GrypeRule(
                vulnerability=str(e.get("vulnerability") or ""),
                include_aliases=bool(e.get("include-aliases")),
                fix_state=state,
                name=str(pkg.get("name") or ""),
                version=str(pkg.get("version") or ""),
                type=str(pkg.get("type") or ""),
                location=str(pkg.get("location") or ""),
                upstream_name=str(pkg.get("upstream-name") or ""),
                language=str(pkg.get("language") or ""),
                match_type=mtype,
                vex_status=vex_status,
                reason=str(e.get("reason") or ""),
                source=f"{file}:{line}",
            )
        )
    _raise(problems)
    return rules


def load(text: str, file: str) -> list[Rule]:
    """Rules of one ignore file, its kind told by its name (``.yaml``: by content)."""
    name = file.rpartition("/")[2]
    if name.endswith((".yaml", ".yml")):
        if "grype" in name:
            return parse_grype_yaml(text, file)
        return parse_trivy_yaml(text, file)
    return parse_trivyignore(text, file)
