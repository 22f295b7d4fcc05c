"""Native ``docker/login-action``, ``docker/metadata-action`` and ``docker/build-push-action``.

Login writes an ``auths`` entry into a job-private ``$DOCKER_CONFIG/config.json``
(also ``REGISTRY_AUTH_FILE`` for podman, buildah and skopeo) and masks the
password. Metadata computes tags and OCI labels from the event as the real
action's common rules do. Build-push runs ``shipway image build`` (the
daemonless builder) in a subprocess. Touches only the job's config directory.

A login whose password is the job's ``GITHUB_TOKEN`` (``ghcr.io`` sent to a
local registry by an alias) is honoured by shipway, so shipway checks the
token's scopes as ghcr.io would: ``packages: read`` to log in, ``packages:
write`` to push to that registry. Another job's token (one shipway issued,
known to the store by its hash) grants that job's scopes while the job runs
and is refused once it has ended, as GitHub's token expires with its job.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from shipway.ci.actions import ActionContext, ActionFailed, bool_input, list_input
from shipway.ci.plan.permissions import allows
from shipway.store import ci_coord, emitters

DOCKER_HUB = "https://index.docker.io/v1/"


def aliases(ctx: ActionContext) -> dict[str, str]:
    """Registry aliases (``SHIPWAY_REGISTRY_ALIASES=ghcr.io=127.0.0.1:5000,...``)."""
    text = ctx.env.get("SHIPWAY_REGISTRY_ALIASES") or os.environ.get("SHIPWAY_REGISTRY_ALIASES", "")
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, sep, target = part.partition("=")
        if sep and host and target:
            found[host.strip()] = target.strip()
    return found


def alias(ctx: ActionContext, ref: str) -> str:
    """``ref`` with an aliased registry host replaced, said in the log."""
    for host, target in aliases(ctx).items():
        if ref == host or ref.startswith(host + "/"):
            new = target + ref[len(host) :]
            ctx.log(f"registry alias: {ref} -> {new}")
            return new
    return ref


def login(ctx: ActionContext) -> None:
    registry = alias(ctx, ctx.input("registry") or DOCKER_HUB)
    user, password = ctx.input("username"), ctx.input("password")
    if not user or not password:
        raise ActionFailed("docker/login-action: username and password are required")
    ctx.secrets.append(password)
    base = Path(ctx.env.get("RUNNER_TEMP", str(ctx.temp))).parent / "docker-config"
    base.mkdir(parents=True, exist_ok=True)
    what = f"docker/login-action: login to {registry}"
    is_token, perms = _token_grant(ctx, password, what)
    if is_token:
        _need_packages(perms, "read", what)
        with (base / TOKEN_REGISTRIES).open("a") as fh:
            fh.write(f"{_host(registry)} {ci_coord.token_hash(password)}\n")
    config = base / "config.json"
    data: dict[str, Any] = {}
    for existing in (config, Path(ctx.env.get("DOCKER_CONFIG", "/nonexistent")) / "config.json"):
        if existing.is_file():
            try:
                data = json.loads(existing.read_text())
                break
            except ValueError:
                continue
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    data.setdefault("auths", {})[registry] = {"auth": token}
    tmp = config.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(config)
    ctx.exported.update({"DOCKER_CONFIG": str(base), "REGISTRY_AUTH_FILE": str(config)})
    ctx.log(f"Login Succeeded: {registry} (credentials in {config})")


TOKEN_REGISTRIES = "github-token-registries"  # hosts logged in to with the GITHUB_TOKEN


def _host(ref: str) -> str:
    return ref.split("://", 1)[-1].split("/", 1)[0]


Grant = tuple[bool, dict[str, str] | None]  # (a GITHUB_TOKEN?, its scopes; None: unchecked)


def _token_grant(ctx: ActionContext, password: str, what: str) -> Grant:
    """Whether ``password`` is a GITHUB_TOKEN shipway issued, and what it grants now."""
    job = ctx.job
    if job is None:
        return False, None
    own = str(job.github.get("token") or "")
    if own and password == own:
        return True, job.permissions
    return _stored_grant(ctx, ci_coord.token_hash(password), what)


def _stored_grant(ctx: ActionContext, digest: str, what: str) -> Grant:
    """A token known by its hash: another job's scopes while it runs; refused after it ended."""
    job = ctx.job
    if job is not None and digest == ci_coord.token_hash(str(job.github.get("token") or "")):
        return True, job.permissions
    store = getattr(job, "store", None)
    found = ci_coord.token_info(store, "", digest=digest) if store is not None else None
    if store is None or found is None:
        return False, None
    scopes = ci_coord.token_scopes(store, "", digest=digest)
    if scopes is None:
        when = f" at {found['ended']}" if found["ended"] else f" (valid until {found['expires']})"
        raise ActionFailed(
            f"{what}: denied: bad credentials: this GITHUB_TOKEN was issued to job "
            f"{found['jobs'][-1]} of run {found['run']} and expired when that job ended{when}; "
            "a job's token is valid only while that job runs"
        )
    return True, scopes


def _need_packages(perms: dict[str, str] | None, level: str, what: str) -> None:
    if perms is None or allows(perms, "packages", level):
        return
    has = perms.get("packages", "none")
    denied = "write_package" if level == "write" else "read_package"
    raise ActionFailed(
        f"{what}: denied: permission_denied: {denied} (the job's GITHUB_TOKEN has "
        f"packages: {has}; add 'permissions: packages: {level}' to the job or workflow)"
    )


_SANITIZE = re.compile(r"[^a-zA-Z0-9._-]+")
_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
DEFAULT_TAG_RULES = ["type=schedule", "type=ref,event=branch", "type=ref,event=tag",
                     "type=ref,event=pr"]  # fmt: skip


def _rule(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            attrs[key.strip()] = value.strip()
        elif part.strip():
            attrs["type"], attrs["value"] = "raw", part.strip()
    return attrs


def _event(ctx: ActionContext) -> tuple[str, str, str]:
    """(ref kind: branch|tag|pr|other, name, sha)."""
    info = ctx.info
    if info.event.startswith("pull_request"):
        number = info.payload.get("number") or (info.payload.get("pull_request") or {}).get(
            "number", 0
        )
        return "pr", str(number), info.commit
    if info.ref.startswith("refs/tags/"):
        return "tag", info.ref[len("refs/tags/") :], info.commit
    if info.ref.startswith("refs/heads/"):
        return "branch", info.ref[len("refs/heads/") :], info.commit
    return "other", info.ref, info.commit


def _semver(pattern: str, tag: str) -> str | None:
    m = _SEMVER.match(tag)
    if not m:
        return None
    v = m.groupdict()
    version = f"{v['major']}.{v['minor']}.{v['patch']}" + (f"-{v['pre']}" if v["pre"] else "")
    if v["pre"] and pattern != "{{version}}":
        return None
    return (pattern.replace("{{version}}", version).replace("{{major}}", v["major"])
            .replace("{{minor}}", v["minor"]).replace("{{patch}}", v["patch"]))  # fmt: skip


def tags_for(ctx: ActionContext, rules: list[str]) -> tuple[list[str], bool]:
    """Tag names from the rules, and whether ``latest`` applies (flavor latest=auto)."""
    kind, name, sha = _event(ctx)
    out: list[str] = []
    auto_latest = False
    for text in rules or DEFAULT_TAG_RULES:
        a = _rule(text)
        if a.get("enable", "true").lower() == "false":
            continue
        typ, value = a.get("type", "raw"), None
        prefix, suffix = a.get("prefix", ""), a.get("suffix", "")
        if typ == "ref":
            ev = a.get("event", "")
            if ev == kind == "branch" or ev == kind == "tag":
                value = _SANITIZE.sub("-", name)
                auto_latest |= kind == "tag"
            elif ev == kind == "pr":
                value, prefix = name, a.get("prefix", "pr-")
        elif typ == "sha":
            value = sha if a.get("format") == "long" else sha[:7]
            prefix = a.get("prefix", "sha-")
        elif typ == "raw":
            value = a.get("value") or None
        elif typ == "semver" and kind == "tag":
            value = _semver(a.get("pattern", "{{version}}"), a.get("value", name))
            auto_latest |= value is not None and _SEMVER.match(name) is not None
        elif typ == "edge" and kind == "branch" and name == a.get("branch", "main"):
            value = "edge"
        elif typ == "schedule" and ctx.info.event == "schedule":
            value = a.get("pattern", "nightly").replace(
                "{{date 'YYYYMMDD'}}", time.strftime("%Y%m%d")
            )
        if value:
            tag = f"{prefix}{value}{suffix}"
            if tag not in out:
                out.append(tag)
    return out, auto_latest


def metadata(ctx: ActionContext) -> None:
    images = list_input(ctx.input("images"), commas=True)
    rules = list_input(ctx.input("tags"))
    flavor = {k: v for k, _, v in (f.partition("=") for f in list_input(ctx.input("flavor")))}
    names, auto_latest = tags_for(ctx, rules)
    latest = flavor.get("latest", "auto")
    fprefix, fsuffix = flavor.get("prefix", ""), flavor.get("suffix", "")
    names = [f"{fprefix}{n}{fsuffix}" for n in names]
    if latest == "true" or (latest == "auto" and auto_latest):
        names.append(f"{fprefix}latest{fsuffix}")
    tags = [f"{img}:{n}" for img in images for n in names] if images else names
    repo = ctx.info.repository_name
    created = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = time.gmtime(int(created)) if created and created.isdigit() else time.gmtime()
    labels = {
        "org.opencontainers.image.title": repo.split("/")[-1],
        "org.opencontainers.image.description": "",
        "org.opencontainers.image.url": f"{ctx.info.server_url}/{repo}",
        "org.opencontainers.image.source": f"{ctx.info.server_url}/{repo}",
        "org.opencontainers.image.version": names[0] if names else "",
        "org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp),
        "org.opencontainers.image.revision": ctx.info.commit,
        "org.opencontainers.image.licenses": "",
    }
    for extra in list_input(ctx.input("labels")):
        k, _, v = extra.partition("=")
        labels[k] = v
    sep = ctx.input("sep-tags") or "\n"
    ctx.outputs.update({
        "version": names[0] if names else "",
        "tags": sep.join(tags),
        "labels": "\n".join(f"{k}={v}" for k, v in labels.items()),
        "json": json.dumps({"tags": tags, "labels": labels}),
    })  # fmt: skip
    ctx.log(f"Tags: {', '.join(tags) or '(none)'}")


def _shipway(env: dict[str, str]) -> list[str]:
    found = shutil.which("shipway", path=env.get("PATH"))
    return [found] if found else [sys.executable, "-m", "shipway.cli.main"]


def _check_push(ctx: ActionContext, tags: list[str]) -> None:
    """Pushing where the job logged in with its GITHUB_TOKEN needs ``packages: write``."""
    config = Path(ctx.env.get("DOCKER_CONFIG", "/nonexistent")) / TOKEN_REGISTRIES
    if not config.is_file():
        return
    hosts: dict[str, str] = {}
    for line in config.read_text().splitlines():
        host, _, digest = line.partition(" ")
        if host:
            hosts[host] = digest.strip()
    for tag in tags:
        if _host(tag) in hosts:
            what = f"docker/build-push-action: push {tag}"
            _granted, perms = _stored_grant(ctx, hosts[_host(tag)], what)
            _need_packages(perms, "write", what)


def build_push(ctx: ActionContext) -> None:
    job = ctx.job
    if job is None:
        raise ActionFailed("docker/build-push-action needs a job")
    context = ctx.input("context", ".")
    if "://" in context:
        raise ActionFailed("build-push-action: only a path context is supported here")
    argv = [*_shipway(ctx.env), "image", "build", str(ctx.workspace / context)]
    if ctx.input("file"):
        argv += ["-f", str(ctx.workspace / ctx.input("file"))]
    for tag in list_input(ctx.input("tags"), commas=True):
        argv += ["-t", alias(ctx, tag)]
    for label in list_input(ctx.input("labels")):
        argv += ["--label", label]
    for arg in list_input(ctx.input("build-args")):
        argv += ["--build-arg", arg]
    if ctx.input("target"):
        argv += ["--target", ctx.input("target")]
    if bool_input(ctx.input("push")):
        _check_push(ctx, [b for a, b in itertools.pairwise(argv) if a == "-t"])
        argv.append("--push")
    result = ctx.temp / "build-result.json"
    argv += ["-o", "json"]
    wrapped = ["sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", str(result), *argv]
    status = job.run_process(wrapped, ctx.workspace, ctx.env, job.remaining(), host_only=True)
    if status != "success":
        raise ActionFailed(f"docker/build-push-action: shipway image build {status}")
    try:
        data = json.loads(result.read_text())
    except (OSError, ValueError):
        data = {}
    digest = str(data.get("digest", ""))
    ctx.outputs.update({"digest": digest, "imageid": str(data.get("image_id", digest)),
                        "metadata": json.dumps(data)})  # fmt: skip
    ctx.log(f"Built {digest or 'image'}" + (" and pushed" if bool_input(ctx.input("push")) else ""))
    store = getattr(job, "store", None)
    if bool_input(ctx.input("push")) and store is not None:  # the stage's event: ImagePushed
        for tag in [b for a, b in itertools.pairwise(argv) if a == "-t"]:
            name, sep, version = tag.rpartition(":")
            if not sep or "/" in version:
                name, version = tag, "latest"
            emitters.image_pushed(store, name, version, source="ci")
