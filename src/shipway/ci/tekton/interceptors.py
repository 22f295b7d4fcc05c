"""Tekton Triggers' interceptors, run in a chain as the EventListener sink runs them.

A chain (``run_chain``) passes the event's body (text, as received), headers
(a map of lists) and extensions through each interceptor in order; one that
says no stops the trigger (``Outcome.go`` false, ``why`` its message), one
that cannot run (an unreachable or unknown interceptor, a Secret that is not
there) fails it (``Outcome.failed``). The interceptors:

- ``github``: ``eventTypes`` against ``X-GitHub-Event``; ``secretRef``: the
  ``X-Hub-Signature-256`` HMAC of the body with the Secret's key;
  ``addChangedFiles``: ``extensions.changed_files``, the files (comma-separated)
  of a push's commits, or of a pull request as GitHub's API lists them;
- ``gitlab``: ``eventTypes`` against ``X-Gitlab-Event``; ``secretRef``: the
  ``X-Gitlab-Token`` header equal to the Secret's key;
- ``bitbucket``: ``eventTypes`` against ``X-Event-Key``; ``secretRef``: the
  ``X-Hub-Signature`` HMAC (``sha1=`` or ``sha256=``);
- ``cel``: ``filter`` must be true, each ``overlays`` entry sets an extension;
- ``webhook`` (``url``, or ``objectRef`` to a Service, ``http://NAME.NS.svc/``):
  the body, with the extensions merged under ``extensions``, and the headers
  (plus ``header`` and ``Eventlistener-Request-Url``) are POSTed; a 200 goes
  on with the response's body and headers, any other status stops;
- any other ``ref`` (``kind: ClusterInterceptor`` or ``NamespacedInterceptor``):
  the stored object's ``clientConfig`` (``url``, or ``service`` as
  ``http(s)://NAME.NS.svc:PORT/PATH``) is sent Tekton's ``InterceptorRequest``
  (``body``, ``header``, ``extensions``, ``interceptor_params``, ``context``:
  ``event_url``, ``event_id``, ``trigger_id``); its ``InterceptorResponse``
  (``continue``, ``extensions``, ``status.code``/``message``) decides.

Signatures are checked only on a body as the sender sent it (``Chain.raw``);
an event the controller made from a forge hook it checked itself has none.
Pure: the Secrets, stored objects and HTTP calls are the caller's ``Ports``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.tekton.trigger_cel import cel, to_json
from shipway.model.tekton_triggers import BUILTIN, interceptor_of

Headers = dict[str, list[str]]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers
    body: bytes


Post = Callable[[str, bytes, Headers], Reply]
"""POST ``body`` with ``headers`` to a URL; ``OSError`` when it cannot be reached."""
Secret = Callable[[str, str, str], str | None]
"""(namespace, Secret name, key) -> the key's value, ``None`` when there is none."""
Find = Callable[[str, str, str], dict[str, Any] | None]
"""(kind, name, namespace) -> the stored object's spec (cluster kinds ignore namespace)."""


Get = Callable[[str, Headers], Reply]
"""GET a URL with ``headers``; ``OSError`` when it cannot be reached."""


def _no_post(url: str, body: bytes, headers: Headers) -> Reply:
    raise OSError(f"no HTTP client to reach {url}")


def _no_get(url: str, headers: Headers) -> Reply:
    raise OSError(f"no HTTP client to reach {url}")


@dataclass(frozen=True)
class Ports:
    find: Find
    secret: Secret = lambda _ns, _name, _key: None
    post: Post = _no_post
    get: Get = _no_get
    github_api: str = "https://api.github.com"
    """GitHub's REST API, for ``addChangedFiles`` (``X-Github-Enterprise-Host`` wins)."""


@dataclass
class Chain:
    """What one interceptor hands the next."""

    body: str
    header: Headers
    extensions: dict[str, Any] = field(default_factory=dict)
    raw: bool = True


@dataclass(frozen=True)
class Context:
    event_url: str
    event_id: str
    trigger_id: str  # namespaces/<ns>/triggers/<name> (or triggerGroups/<name>)
    namespace: str


@dataclass
class Outcome:
    go: bool
    chain: Chain
    why: str = ""
    failed: bool = False


class _Stop(Exception):
    def __init__(self, why: str, failed: bool = False) -> None:
        super().__init__(why)
        self.why, self.failed = why, failed


def header(h: Headers, name: str) -> str:
    """The first value of header ``name`` (any case), ``""`` when there is none."""
    wanted = name.lower()
    return next((v[0] if v else "" for k, v in h.items() if k.lower() == wanted), "")


def run_chain(interceptors: list[dict[str, Any]], chain: Chain, ctx: Context,
              ports: Ports) -> Outcome:  # fmt: skip
    """Run ``interceptors`` in order on ``chain`` (which the caller gives up)."""
    for icpt in interceptors:
        try:
            if icpt.get("webhook"):
                _webhook(dict(icpt["webhook"]), chain, ctx, ports)
                continue
            name, params = interceptor_of(icpt)
            kind = str((icpt.get("ref") or {}).get("kind") or "ClusterInterceptor")
            if name in BUILTIN and kind == "ClusterInterceptor":
                _BUILTINS[name](params, chain, ctx, ports)
            else:
                _remote(kind, name, params, chain, ctx, ports)
        except _Stop as stop:
            return Outcome(False, chain, stop.why, stop.failed)
    return Outcome(True, chain)


def _types(name: str, params: dict[str, Any], got: str) -> None:
    types = params.get("eventTypes")
    if types is not None and got not in types:
        raise _Stop(f"{name}: event type {got} is not allowed")


def _secret(name: str, params: dict[str, Any], ctx: Context, ports: Ports) -> str | None:
    """The ``secretRef``'s value, ``None`` when no check is to be made."""
    ref = params.get("secretRef")
    if not ref:
        return None
    if not isinstance(ref, dict) or not ref.get("secretKey"):
        raise _Stop(f"{name} interceptor secretRef.secretKey is empty")
    value = ports.secret(ctx.namespace, str(ref.get("secretName") or ""), str(ref["secretKey"]))
    if value is None:
        where = f"{ctx.namespace}/{ref.get('secretName')}"
        raise _Stop(f"{name}: error getting secret: Secret {where} has no key "
                    f"{ref['secretKey']!r}", failed=True)  # fmt: skip
    return value


def _hmac_ok(signature: str, body: str, secret: str) -> bool:
    algo, _, digest = signature.partition("=")
    if algo not in ("sha1", "sha256", "sha512") or not digest:
        return False
    want = hmac.new(secret.encode(), body.encode(), getattr(hashlib, algo)).hexdigest()
    return hmac.compare_digest(want, digest.strip().lower())


def _signed(name: str, sig_header: str, params: dict[str, Any], chain: Chain, ctx: Context,
            ports: Ports) -> None:  # fmt: skip
    if not chain.raw:
        return
    secret = _secret(name, params, ctx, ports)
    if secret is None:
        return
    got = header(chain.header, sig_header)
    if not got:
        raise _Stop(f"{name}: no {sig_header} header set")
    if not _hmac_ok(got, chain.body, secret):
        raise _Stop(f"{name}: payload signature check failed")


def _github(params: dict[str, Any], chain: Chain, ctx: Context, ports: Ports) -> None:
    event = header(chain.header, "X-GitHub-Event")
    _types("github", params, event)
    _signed("github", "X-Hub-Signature-256", params, chain, ctx, ports)
    changed = params.get("addChangedFiles")
    if isinstance(changed, dict) and changed.get("enabled") is True and event in (
            "push", "pull_request"):  # fmt: skip
        chain.extensions["changed_files"] = ",".join(_changed(changed, event, chain, ctx, ports))


def _changed(changed: dict[str, Any], event: str, chain: Chain, ctx: Context,
             ports: Ports) -> list[str]:  # fmt: skip
    """``addChangedFiles``: a push's files from its commits, a pull request's from GitHub's
    ``pulls/N/files`` (with ``personalAccessToken``, when given)."""
    body = _json_body(chain, "github")
    repo = (body.get("repository") or {}).get("full_name") if isinstance(body, dict) else None
    if not isinstance(repo, str) or "/" not in repo:
        raise _Stop("github: error parsing body: payload body missing 'repository.full_name' "
                    "field", failed=True)  # fmt: skip
    if event == "push":
        files: list[str] = []
        for commit in body.get("commits") or []:
            for key in ("added", "modified", "removed"):
                names = commit.get(key) if isinstance(commit, dict) else None
                if not isinstance(names, list):
                    raise _Stop(f"github: error parsing body: payload body missing "
                                f"'commits.*.{key}' field", failed=True)  # fmt: skip
                files += [str(n) for n in names]
        return files
    number = body.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise _Stop("github: error parsing body: pull_request body missing 'number' field",
                    failed=True)  # fmt: skip
    asked: Headers = {"Accept": ["application/vnd.github+json"]}
    if changed.get("personalAccessToken"):
        token = _secret("github", {"secretRef": changed["personalAccessToken"]}, ctx, ports)
        asked["Authorization"] = [f"Bearer {token}"]
    host = header(chain.header, "X-Github-Enterprise-Host")
    api = f"https://{host}/api/v3" if host else ports.github_api.rstrip("/")
    url: str | None = f"{api}/repos/{repo}/pulls/{number}/files?per_page=100"
    files = []
    for _page in range(30):  # GitHub lists at most 3,000 files
        if url is None:
            break
        reply = _get(url, asked, ports)
        if reply.status != 200:
            text = reply.body.decode("utf-8", "replace")[:300]
            raise _Stop(f"github: error getting changed files: {url}: {reply.status} {text}",
                        failed=True)  # fmt: skip
        try:
            page = json.loads(reply.body)
        except ValueError as exc:
            raise _Stop(f"github: error getting changed files: {exc}", failed=True) from None
        files += [str(f.get("filename")) for f in page if isinstance(f, dict)]
        url = _next_link(header(reply.headers, "Link"))
    return files


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        target, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return target.strip().strip("<>")
    return None


def _get(url: str, headers: Headers, ports: Ports) -> Reply:
    try:
        return ports.get(url, headers)
    except OSError as exc:
        raise _Stop(f"github: error getting changed files: cannot reach {url}: {exc}",
                    failed=True) from None  # fmt: skip


def _bitbucket(params: dict[str, Any], chain: Chain, ctx: Context, ports: Ports) -> None:
    _types("bitbucket", params, header(chain.header, "X-Event-Key"))
    _signed("bitbucket", "X-Hub-Signature", params, chain, ctx, ports)


def _gitlab(params: dict[str, Any], chain: Chain, ctx: Context, ports: Ports) -> None:
    _types("gitlab", params, header(chain.header, "X-Gitlab-Event"))
    secret = _secret("gitlab", params, ctx, ports) if chain.raw else None
    if secret is None:
        return
    got = header(chain.header, "X-Gitlab-Token")
    if not got:
        raise _Stop("gitlab: no X-Gitlab-Token header set")
    if not hmac.compare_digest(got.encode(), secret.encode()):
        raise _Stop("gitlab: Invalid X-GitLab-Token")


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    target[parts[-1]] = value


def _json_body(chain: Chain, who: str) -> Any:
    try:
        return json.loads(chain.body or "{}")
    except ValueError as exc:
        raise _Stop(f"{who}: the body is not JSON ({exc})", failed=True) from None


def _cel(params: dict[str, Any], chain: Chain, ctx: Context, ports: Ports) -> None:
    body = _json_body(chain, "cel")
    try:
        if params.get("filter"):
            kept = cel(str(params["filter"]), body, chain.header, chain.extensions,
                       ctx.event_url, ports.secret, ctx.namespace)  # fmt: skip
            if not isinstance(kept, int) or not bool(kept):
                raise _Stop(f"cel: expression {params['filter']} did not return true")
        for o in params.get("overlays") or []:
            value = cel(str(o["expression"]), body, chain.header, chain.extensions,
                        ctx.event_url, ports.secret, ctx.namespace)  # fmt: skip
            _set(chain.extensions, str(o["key"]), to_json(value))
    except ValueError as exc:
        raise _Stop(f"cel: {exc}") from None


_BUILTINS: dict[str, Callable[[dict[str, Any], Chain, Context, Ports], None]] = {
    "github": _github, "gitlab": _gitlab, "bitbucket": _bitbucket, "cel": _cel}  # fmt: skip


def webhook_url(hook: dict[str, Any], namespace: str) -> str:
    """Where a ``webhook`` interceptor is sent, as Tekton resolves it."""
    if hook.get("url"):
        return str(hook["url"])
    ref = hook.get("objectRef") or {}
    return f"http://{ref.get('name')}.{ref.get('namespace') or namespace}.svc/"


def _post(url: str, body: bytes, headers: Headers, ports: Ports, who: str) -> Reply:
    try:
        return ports.post(url, body, headers)
    except OSError as exc:
        raise _Stop(f"{who}: cannot reach {url}: {exc}", failed=True) from None


def _webhook(hook: dict[str, Any], chain: Chain, ctx: Context, ports: Ports) -> None:
    body = chain.body
    if chain.extensions:
        data = _json_body(chain, "webhook interceptor")
        if not isinstance(data, dict):
            raise _Stop("webhook interceptor: cannot merge extensions into a body that is not "
                        "a JSON object", failed=True)  # fmt: skip
        merged = dict(data.get("extensions") or {}) if isinstance(data.get("extensions"),
                                                                   dict) else {}  # fmt: skip
        data["extensions"] = {**merged, **chain.extensions}
        body = json.dumps(data, separators=(",", ":"))
    headers = {k: list(v) for k, v in chain.header.items()}
    headers["Eventlistener-Request-Url"] = [ctx.event_url]
    for p in hook.get("header") or []:
        value = p.get("value")
        headers[str(p["name"])] = [str(v) for v in value] if isinstance(value, list) else [
            str(value)]  # fmt: skip
    url = webhook_url(hook, ctx.namespace)
    reply = _post(url, body.encode(), headers, ports, "webhook interceptor")
    if reply.status != 200:
        text = reply.body.decode("utf-8", "replace")[:500]
        raise _Stop(f"webhook interceptor {url}: request rejected; status: {reply.status}; "
                    f"message: {text}")  # fmt: skip
    chain.body = reply.body.decode("utf-8", "replace")
    chain.header = {k: list(v) for k, v in reply.headers.items()}


def interceptor_url(spec: dict[str, Any]) -> str:
    """A ClusterInterceptor's (Interceptor's) address from its ``clientConfig``."""
    client = spec.get("clientConfig") or {}
    if client.get("url"):
        return str(client["url"])
    svc = client.get("service") or {}
    if not svc.get("name"):
        raise ValueError("clientConfig has neither url nor service")
    scheme, port = ("https", 8443) if client.get("caBundle") else ("http", 80)
    port = int(svc.get("port") or port)
    path = str(svc.get("path") or "")
    return f"{scheme}://{svc['name']}.{svc.get('namespace')}.svc:{port}{path}"


def _remote(kind: str, name: str, params: dict[str, Any], chain: Chain, ctx: Context,
            ports: Ports) -> None:  # fmt: skip
    stored_kind = "ClusterInterceptor" if kind == "ClusterInterceptor" else "Interceptor"
    spec = ports.find(stored_kind, name, ctx.namespace)
    who = f"interceptor {name}"
    if spec is None:
        raise _Stop(f"url resolution failed for {who}: {stored_kind} {name!r} is not found",
                    failed=True)  # fmt: skip
    try:
        url = interceptor_url(spec)
    except ValueError as exc:
        raise _Stop(f"url resolution failed for {who}: {exc}", failed=True) from None
    request = {"body": chain.body, "header": chain.header, "extensions": chain.extensions,
               "interceptor_params": params,
               "context": {"event_url": ctx.event_url, "event_id": ctx.event_id,
                           "trigger_id": ctx.trigger_id}}  # fmt: skip
    reply = _post(url, json.dumps(request).encode(), {"Content-Type": ["application/json"]},
                  ports, who)  # fmt: skip
    text = reply.body.decode("utf-8", "replace")
    if reply.status != 200:
        raise _Stop(f"{who}: interceptor response was not 200: {text[:500]}", failed=True)
    try:
        got = json.loads(text)
    except ValueError as exc:
        raise _Stop(f"{who}: the response is not an InterceptorResponse ({exc})",
                    failed=True) from None  # fmt: skip
    if not isinstance(got, dict):
        raise _Stop(f"{who}: the response is not an InterceptorResponse", failed=True)
    if got.get("continue") is not True:
        found = got.get("status")
        status: dict[str, Any] = found if isinstance(found, dict) else {}
        raise _Stop(f"{who}: {status.get('message') or 'continue is false'}"
                    f" (code {status.get('code', 0)})")  # fmt: skip
    if isinstance(got.get("extensions"), dict):
        chain.extensions.update(got["extensions"])
