"""Image references: parse ``[registry/]repo[:tag][@digest]`` and ``oci:DIR[:TAG]``.

Pure: takes strings, returns data. Docker's rules apply: a first path component
is a registry only when it has a dot or a colon or is ``localhost``; otherwise
the registry is ``docker.io`` and a one-component repository gets ``library/``.
``docker.io`` is reached at ``registry-1.docker.io`` and its credentials live
under ``https://index.docker.io/v1/`` in ``~/.docker/config.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shipway.model.errors import InputError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed reference; ``oci_dir`` is set for the ``oci:DIR[:TAG]`` form."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    oci_dir: str | None = None

    @property
    def api_host(self) -> str:
        """The host:port the distribution API is served on."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        if self.oci_dir is not None:
            return f"oci:{self.oci_dir}"
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def is_loopback(self) -> bool:
        return host_of(self.registry) in LOOPBACK_HOSTS

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def pinned(self, digest: str) -> str:
        """``registry/repo@digest``: the form the deployers use."""
        return f"{self.name}@{digest}"

    def __str__(self) -> str:
        if self.oci_dir is not None:
            return f"oci:{self.oci_dir}" + (f":{self.tag}" if self.tag else "")
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def host_of(registry: str) -> str:
    """The host part of ``host[:port]`` (IPv6 in brackets kept)."""
    if registry.startswith("["):
        return registry.split("]")[0] + "]"
    return registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry


def is_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def check_sha256(value: str, subject: str | None = None) -> str:
    """Return ``value`` when it is a ``sha256:<64 hex>`` digest, else raise InputError."""
    if not _SHA256.match(value):
        raise InputError(f"not a sha256 digest: {value!r}", subject=subject)
    return value


def parse(ref: str, *, default_tag: str | None = "latest") -> Reference:
    """Parse a reference; a missing tag (and digest) becomes ``default_tag``."""
    text = ref.strip()
    if not text:
        raise InputError("empty image reference", subject=ref)
    if text.startswith("oci:"):
        return _parse_oci(text[4:], ref)
    if "://" in text:
        raise InputError("an image reference has no scheme", subject=ref)
    name, digest = text, None
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InputError(f"invalid digest {digest!r}", subject=ref)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InputError(f"invalid tag {tag!r}", subject=ref)
    registry, repository = _split_registry(name, ref)
    if tag is None and digest is None:
        tag = default_tag
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest)


def parse_repository(repo: str) -> Reference:
    """Parse ``[registry/]repository`` (no tag or digest): for tag listings."""
    r = parse(repo, default_tag=None)
    if r.tag or r.digest:
        raise InputError("a repository has no tag or digest", subject=repo)
    return r


def _split_registry(name: str, ref: str) -> tuple[str, str]:
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, parts[1:]
    else:
        registry, path = DOCKER_HUB, parts
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    for comp in path:
        if not _COMPONENT.match(comp):
            raise InputError(f"invalid repository component {comp!r}", subject=ref)
    if len("/".join(path)) > 255:
        raise InputError("repository name longer than 255 characters", subject=ref)
    return registry, "/".join(path)


def _parse_oci(rest: str, ref: str) -> Reference:
    if not rest:
        raise InputError("oci: needs a directory", subject=ref)
    path, tag = rest, None
    head, sep, tail = rest.rpartition(":")
    if sep and "/" not in tail and tail:
        path, tag = head, tail
        if not _TAG.match(tag):
            raise InputError(f"invalid tag {tag!r}", subject=ref)
    return Reference(registry="", repository="", tag=tag, oci_dir=path)
