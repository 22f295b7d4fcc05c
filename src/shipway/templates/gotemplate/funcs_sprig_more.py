"""sprig's regex, date, semver, hash, URL functions, and ApplicationSet's own
(``normalize``, ``slugify``, ``toYaml``, ``fromYaml``, ``fromYamlArray``).

Pure (``now`` reads the clock through ``GoTime.now``). Regexes are RE2 syntax
as Go writes them; Python's ``re`` runs them (the RE2 subset both share).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.templates.gojson import to_int
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_values import strval
from shipway.templates.gotime import (
    GoDuration,
    GoTime,
    GoTimeError,
    duration_string,
    format_time,
    parse_duration,
    parse_time,
)
from shipway.templates.semver import SemverError, constraint_matches, parse_version

_NS = 1_000_000_000


def _re(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(strval(pattern))
    except re.error as e:
        raise FuncError(f"error parsing regexp: {e}") from None


def go_expand(template: str, m: re.Match[str]) -> str:
    """Go's Regexp.Expand: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out, i = [], 0
    while i < len(template):
        c = template[i]
        if c != "$" or i + 1 >= len(template):
            out.append(c)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if template[i + 1] == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end > 0 else ""
            nxt = end + 1
        else:
            mm = re.match(r"[A-Za-z0-9_]+", template[i + 1 :])
            name = mm.group(0) if mm else ""
            nxt = i + 1 + len(name)
        if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            out.append(c)
            i += 1
            continue
        try:
            val = m.group(int(name)) if name.isascii() and name.isdigit() else m.group(name)
        except IndexError:
            val = ""
        out.append(val or "")
        i = nxt
    return "".join(out)


def _regex_find_all(pattern: Any, s: Any, n: Any) -> list[str]:
    found = [m.group(0) for m in _re(pattern).finditer(strval(s))]
    k = to_int(n)
    return found if k < 0 else found[:k]


def _regex_split(pattern: Any, s: Any, n: Any) -> list[str]:
    k = to_int(n)
    if k == 0:
        return []
    parts = _re(pattern).split(strval(s), maxsplit=0 if k < 0 else k - 1)
    return parts


def _as_time(v: Any) -> GoTime:
    if isinstance(v, GoTime):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return GoTime(int(v) * _NS)
    return GoTime.now()


def _date(fmt: Any, d: Any) -> str:
    return format_time(_as_time(d).Local(), strval(fmt))


def _date_in_zone(fmt: Any, d: Any, zone: Any) -> str:
    t = _as_time(d)
    if strval(zone) in ("UTC", ""):
        t = t.UTC()
    return format_time(t, strval(fmt))


def _to_date(fmt: Any, s: Any) -> GoTime:
    try:
        return parse_time(strval(fmt), strval(s))
    except GoTimeError as e:
        raise FuncError(str(e)) from None


def _ago(d: Any) -> str:
    since = GoTime.now().Sub(_as_time(d))
    return duration_string(since.Round(GoDuration(_NS)).ns)


def _duration(sec: Any) -> str:
    return duration_string(to_int(sec) * _NS)


def _date_modify(fmt: Any, d: Any) -> GoTime:
    try:
        return _as_time(d).Add(parse_duration(strval(fmt)))
    except GoTimeError:
        return _as_time(d)


def _semver_compare(constraint: Any, version: Any) -> bool:
    try:
        return constraint_matches(strval(constraint), strval(version))
    except SemverError as e:
        raise FuncError(str(e)) from None


def _semver(v: Any) -> dict[str, Any]:
    try:
        ver = parse_version(strval(v))
    except SemverError as e:
        raise FuncError(str(e)) from None
    return {
        "Major": ver.major,
        "Minor": ver.minor,
        "Patch": ver.patch,
        "Prerelease": ver.pre,
        "Metadata": ver.build,
        "Original": ver.original,
    }


def _url_parse(v: Any) -> dict[str, Any]:
    u = urlsplit(strval(v))
    user = ""
    if u.username is not None:
        user = u.username + (f":{u.password}" if u.password is not None else "")
    host = u.netloc.rsplit("@", 1)[-1]
    return {
        "scheme": u.scheme,
        "host": host,
        "hostname": u.hostname or "",
        "path": u.path,
        "query": u.query,
        "opaque": "",
        "fragment": u.fragment,
        "userinfo": user,
    }


def _url_join(d: Any) -> str:
    if not isinstance(d, Mapping):
        raise FuncError("urlJoin needs a dict")
    netloc = strval(d.get("host", ""))
    if d.get("userinfo"):
        netloc = strval(d["userinfo"]) + "@" + netloc
    path = strval(d.get("path", ""))
    if netloc and path and not path.startswith("/"):
        path = "/" + path
    parts = (strval(d.get("scheme", "")), netloc, path, strval(d.get("query", "")))
    return urlunsplit((*parts, strval(d.get("fragment", ""))))


def normalize(s: Any) -> str:
    """ApplicationSet's ``normalize``: a valid DNS-1123 subdomain name."""
    text = re.sub(r"[^a-z0-9.-]+", "-", strval(s).lower())
    text = text[:253]
    return text.strip("-.")


def slugify(s: Any, max_size: Any = 50, smart_truncate: Any = True) -> str:
    """ApplicationSet's ``slugify``: lowercase, ``-`` for other runs, at most ``max_size``."""
    text = re.sub(r"[^a-z0-9]+", "-", strval(s).lower()).strip("-")
    size = to_int(max_size)
    if len(text) > size:
        if smart_truncate is True:
            cut = text[:size]
            if "-" in cut and text[size : size + 1] not in ("-", ""):
                cut = cut[: cut.rfind("-")]
            text = cut
        else:
            text = text[:size]
    return text.strip("-")


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def _yaml_safe(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _yaml_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_yaml_safe(x) for x in v]
    if isinstance(v, GoTime | GoDuration):
        return v.String()
    return v


def _to_yaml(v: Any) -> str:
    try:
        out = yaml.dump(_yaml_safe(v), Dumper=_Dumper, sort_keys=True, allow_unicode=True,
                        default_flow_style=False, width=1 << 30)  # fmt: skip
    except yaml.YAMLError as e:
        raise FuncError(str(e)) from None
    if out.endswith("...\n"):
        out = out[:-4]
    return out.removesuffix("\n")


def _from_yaml(s: Any, want: type = dict) -> Any:
    try:
        bounded.check_yaml(strval(s), "fromYaml")
    except InputError as exc:
        raise FuncError(f"error unmarshaling YAML: {exc}") from None
    try:
        v = yaml.safe_load(strval(s))
    except yaml.YAMLError as e:
        raise FuncError(f"error unmarshaling YAML: {e}") from None
    if v is None:
        return want()
    if not isinstance(v, want):
        kind = "an object" if want is dict else "an array"
        raise FuncError(f"error unmarshaling YAML: the document is not {kind}")
    return v


def _hash(name: str) -> Callable[[Any], str]:
    return lambda s: hashlib.new(name, strval(s).encode()).hexdigest()


MORE: dict[str, Callable[..., Any]] = {
    "regexMatch": lambda p, s: _re(p).search(strval(s)) is not None,
    "mustRegexMatch": lambda p, s: _re(p).search(strval(s)) is not None,
    "regexFind": lambda p, s: m.group(0) if (m := _re(p).search(strval(s))) else "",
    "regexFindAll": _regex_find_all,
    "regexReplaceAll": lambda p, s, r: _re(p).sub(lambda m: go_expand(strval(r), m), strval(s)),
    "regexReplaceAllLiteral": lambda p, s, r: _re(p).sub(lambda m: strval(r), strval(s)),
    "regexSplit": _regex_split,
    "regexQuoteMeta": lambda s: re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", strval(s)),
    "now": GoTime.now,
    "date": _date,
    "dateInZone": _date_in_zone,
    "date_in_zone": _date_in_zone,
    "htmlDate": lambda d: format_time(_as_time(d), "2006-01-02"),
    "htmlDateInZone": lambda d, z: _date_in_zone("2006-01-02", d, z),
    "toDate": _to_date,
    "mustToDate": _to_date,
    "ago": _ago,
    "duration": _duration,
    "durationRound": lambda d: _duration_round(d),
    "unixEpoch": lambda d: str(_as_time(d).Unix()),
    "dateModify": _date_modify,
    "date_modify": _date_modify,
    "semverCompare": _semver_compare,
    "semver": _semver,
    "sha256sum": _hash("sha256"),
    "sha1sum": _hash("sha1"),
    "sha512sum": _hash("sha512"),
    "adler32sum": lambda s: str(zlib.adler32(strval(s).encode())),
    "urlParse": _url_parse,
    "urlJoin": _url_join,
    "normalize": normalize,
    "slugify": slugify,
    "toYaml": _to_yaml,
    "fromYaml": lambda s: _from_yaml(s),
    "fromYamlArray": lambda s: _from_yaml(s, list),
}


def _duration_round(d: Any) -> str:
    if isinstance(d, GoDuration):
        ns = d.ns
    elif isinstance(d, GoTime):
        ns = GoTime.now().Sub(d).ns
    elif isinstance(d, str):
        try:
            ns = parse_duration(d).ns
        except GoTimeError:
            ns = 0
    else:
        ns = to_int(d)
    u = abs(ns)
    units = [("y", 365 * 86400), ("mo", 30 * 86400), ("d", 86400), ("h", 3600), ("m", 60)]
    for suffix, secs in units:
        if u >= secs * _NS:
            return f"{u // (secs * _NS)}{suffix}"
    return f"{u // _NS}s"
