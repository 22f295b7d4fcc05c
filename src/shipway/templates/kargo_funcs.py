"""Kargo's stateless expression functions beyond ``quote``: ``asYAML``, ``asJSON``,
``semverParse`` and ``semverDiff``, as Kargo's ``pkg/expressions/function`` defines them.

Pure. ``asYAML``/``asJSON`` return the text in double quotes, as Kargo does, so that the
rendered value stays a string (``templates.exprlang.template`` removes the quotes).
``semverParse`` gives a ``SemverValue`` whose Go methods (``Major()``, ``IncMinor()``,
``String()``, ...) expressions call, with Masterminds/semver v3's rules: an increment
drops the prerelease and build metadata, and ``IncPatch`` of a prerelease only drops
the prerelease. ``semverDiff`` says which part differs first: Major, Minor, Patch,
Metadata, None, or Incomparable when either is not a version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from shipway.templates.exprlang import Fail
from shipway.templates.gojson import go_json
from shipway.templates.semver import SemverError, Version, parse_version


def as_yaml(value: Any) -> str:
    return '"' + yaml.safe_dump(value, indent=4, sort_keys=True, default_flow_style=False) + '"'


def as_json(value: Any) -> str:
    return '"' + go_json(value, indent="  ") + '"'


@dataclass(frozen=True)
class SemverValue:
    """A parsed version with Masterminds' methods (a ``*semver.Version`` in Kargo)."""

    v: Version
    GO_METHODS = ("Major", "Minor", "Patch", "Prerelease", "Metadata", "IncMajor", "IncMinor",
                  "IncPatch", "String", "Original")  # fmt: skip

    def Major(self) -> int:
        return self.v.major

    def Minor(self) -> int:
        return self.v.minor

    def Patch(self) -> int:
        return self.v.patch

    def Prerelease(self) -> str:
        return self.v.pre

    def Metadata(self) -> str:
        return self.v.build

    def _with(self, major: int, minor: int, patch: int, pre: str = "") -> SemverValue:
        return SemverValue(Version(major, minor, patch, pre, "", ""))

    def IncMajor(self) -> SemverValue:
        return self._with(self.v.major + 1, 0, 0)

    def IncMinor(self) -> SemverValue:
        return self._with(self.v.major, self.v.minor + 1, 0)

    def IncPatch(self) -> SemverValue:
        if self.v.pre or self.v.build:  # Masterminds: a prerelease's patch is itself
            return self._with(self.v.major, self.v.minor, self.v.patch)
        return self._with(self.v.major, self.v.minor, self.v.patch + 1)

    def String(self) -> str:
        out = f"{self.v.major}.{self.v.minor}.{self.v.patch}"
        out += f"-{self.v.pre}" if self.v.pre else ""
        return out + (f"+{self.v.build}" if self.v.build else "")

    def Original(self) -> str:
        return self.v.original or self.String()

    def __str__(self) -> str:
        return self.String()


def semver_parse(text: Any) -> SemverValue:
    if not isinstance(text, str):
        raise Fail(f"semverParse: argument must be a string, got {text!r}")
    try:
        return SemverValue(parse_version(text))
    except SemverError as exc:
        raise Fail(f"semverParse: {text!r}: {exc}") from None


def semver_diff(a: Any, b: Any) -> str:
    if not isinstance(a, str) or not isinstance(b, str):
        raise Fail("semverDiff: both arguments must be strings")
    try:
        v1, v2 = parse_version(a), parse_version(b)
    except SemverError:
        return "Incomparable"
    pairs: list[tuple[str, object, object]] = [
        ("Major", v1.major, v2.major), ("Minor", v1.minor, v2.minor),
        ("Patch", v1.patch, v2.patch), ("Metadata", v1.build, v2.build),
    ]  # fmt: skip
    for part, x, y in pairs:
        if x != y:
            return part
    return "None"


FUNCS: dict[str, Callable[..., Any]] = {
    "asYAML": as_yaml,
    "asJSON": as_json,
    "semverParse": semver_parse,
    "semverDiff": semver_diff,
}
