"""Resolve a watch to a concrete image: list tags, apply the policy, find digest and config.

Talks to registries only through ``shipway.images.registry.RegistryClient``
(one client per registry host, reused). Within one pass each repository's
tags are listed once. Image configs are cached by digest (immutable), tag
digests for the life of the ``Resolver`` where a push event vouches for them.
Registry failures stay ``RegistryError``; policy failures ``InputError``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from shipway.images import reference
from shipway.model.errors import RegistryError
from shipway.updater import policy as policy_mod
from shipway.updater import ratelimit
from shipway.updater.targets import Watch
from shipway.updater.webhooks import PushEvent

CONFIG_CACHE = 20_000  # image configs kept (by digest: they never change)
REVISION_LABEL = "org.opencontainers.image.revision"
SOURCE_LABEL = "org.opencontainers.image.source"


class RegistryAPI(Protocol):
    """The part of ``RegistryClient`` the updater uses (a fake must match these signatures)."""

    def list_tags(self, repository: str, page_size: int | None = None) -> list[str]: ...

    def head_manifest(self, repository: str, reference: str) -> str | None: ...

    def get_config(self, repository: str, reference: str) -> dict[str, Any]: ...


ClientFactory = Callable[[str, bool], RegistryAPI]


def default_client(host: str, insecure: bool, *,
                   credentials: tuple[str, str] | None = None) -> RegistryAPI:  # fmt: skip
    """A ``RegistryClient`` whose requests draw from the shared per-host budget; it logs in
    with ``credentials`` (username, password) when given, else as the docker config says."""
    from shipway.images.credentials import Credentials
    from shipway.images.registry import RegistryClient

    inner = httpx.HTTPTransport(verify=not insecure and not _loopback(host))
    budget = ratelimit.LOOPBACK if _loopback(host) else ratelimit.SHARED
    transport = ratelimit.BudgetTransport(budget, host, inner)
    login = Credentials(*credentials) if credentials is not None else None
    return RegistryClient(host, insecure=insecure or None, transport=transport,
                          credentials=login)  # fmt: skip


def _loopback(host: str) -> bool:
    return reference.host_of(host) in reference.LOOPBACK_HOSTS


@dataclass(frozen=True)
class Resolved:
    """A policy's pick: ``image`` is ``registry/repository``; ``digest`` is the manifest's."""

    image: str
    tag: str
    digest: str
    created: datetime | None = None
    source_commit: str | None = None
    source_repo: str | None = None

    @property
    def pinned(self) -> str:
        return f"{self.image}@{self.digest}"


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_created(value: object) -> datetime | None:
    """RFC 3339 with up to nanoseconds, as image configs carry it."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def same_repository(watch_image: str, event: PushEvent) -> bool:
    """True when a push event is about the repository a watch follows."""
    ref = reference.parse_repository(watch_image)
    if event.repository.strip("/") != ref.repository:
        return False
    if not event.host:
        return True
    ev_host = event.host
    if ev_host in (ref.registry, ref.api_host):
        return True
    loop = reference.LOOPBACK_HOSTS
    return (
        reference.host_of(ev_host) in loop
        and reference.host_of(ref.registry) in loop
        and _port(ev_host) == _port(ref.registry)
    )


def _port(host: str) -> str:
    return host.rsplit(":", 1)[1] if host.count(":") == 1 else ""


class Resolver:
    """Registry look-ups for one engine; ``begin_pass`` resets the per-pass tag lists."""

    def __init__(self, factory: ClientFactory | None = None) -> None:
        self._factory = factory or default_client
        self._clients: dict[str, RegistryAPI] = {}
        self._configs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._tag_digests: dict[tuple[str, str], str] = {}
        self._tags: dict[str, list[str]] = {}
        self._fresh: set[tuple[str, str]] = set()
        self._events: list[PushEvent] = []
        self._lock = threading.Lock()
        self._tag_locks: dict[str, threading.Lock] = {}
        self.tag_lists = 0

    def client(self, host: str, insecure: bool = False) -> RegistryAPI:
        with self._lock:
            if host not in self._clients:
                self._clients[host] = self._factory(host, insecure)
            return self._clients[host]

    @property
    def clients(self) -> dict[str, RegistryAPI]:
        return dict(self._clients)

    def begin_pass(self, events: Iterable[PushEvent] = ()) -> None:
        """Forget listed tags; remember the digests push events vouch for."""
        self._tags = {}
        self._tag_locks = {}
        self._fresh = set()
        self._events = list(events)
        for ev in self._events:
            if ev.tag and ev.digest:
                self._tag_digests[(ev.image, ev.tag)] = ev.digest
                self._fresh.add((ev.image, ev.tag))

    def tags(self, watch: Watch) -> list[str]:
        ref = reference.parse_repository(watch.image)
        key = ref.name
        with self._lock:
            lock = self._tag_locks.setdefault(key, threading.Lock())
        with lock:  # one tag-list request per repository per pass, even from many threads
            if key not in self._tags:
                api = self.client(ref.registry, watch.insecure)
                listed = api.list_tags(ref.repository)
                self.tag_lists += 1
                # A notification can beat the tag into the listing: the event vouches for it.
                pushed = [e.tag for e in self._events if e.tag and same_repository(watch.image, e)]
                self._tags[key] = listed + [t for t in dict.fromkeys(pushed) if t not in listed]
            return self._tags[key]

    def _digest(self, watch: Watch, tag: str, trust_cache: bool) -> str | None:
        ref = reference.parse_repository(watch.image)
        for key in ((ref.name, tag), (watch.image, tag)):
            cached = self._tag_digests.get(key)
            if cached and (trust_cache or key in self._fresh):
                return cached
        digest = self.client(ref.registry, watch.insecure).head_manifest(ref.repository, tag)
        if digest:
            self._tag_digests[(ref.name, tag)] = digest
            self._fresh.add((ref.name, tag))
        return digest

    def config(self, watch: Watch, digest: str) -> dict[str, Any]:
        with self._lock:
            cached = self._configs.get(digest)
            if cached is not None:
                self._configs.move_to_end(digest)
                return cached
        ref = reference.parse_repository(watch.image)
        api = self.client(ref.registry, watch.insecure)
        config = api.get_config(ref.repository, digest)
        with self._lock:
            self._configs[digest] = config
            while len(self._configs) > CONFIG_CACHE:
                self._configs.popitem(last=False)
        return config

    def resolve(self, watch: Watch, *, trust_cache: bool = False) -> Resolved:
        """Pick the tag the watch's policy wants, with its digest and build metadata."""
        tags = self.tags(watch)
        if watch.exclude:
            excl = [re.compile(p) for p in watch.exclude]
            tags = [t for t in tags if not any(e.search(t) for e in excl)]
        created: dict[str, datetime] = {}
        if policy_mod.needs_created(watch.policy):
            for choice in policy_mod.filter_tags(watch.policy, tags):
                digest = self._digest(watch, choice.tag, trust_cache)
                if digest:
                    when = parse_created(self.config(watch, digest).get("created"))
                    if when:
                        created[choice.tag] = when
        pick = policy_mod.select(watch.policy, tags, created)
        digest = self._digest(watch, pick.tag, trust_cache)
        if digest is None:
            raise RegistryError(f"tag {pick.tag!r} vanished", subject=f"{watch.image}:{pick.tag}")
        cfg = self.config(watch, digest)
        labels = (cfg.get("config") or {}).get("Labels") or {}
        return Resolved(
            image=watch.image,
            tag=pick.tag,
            digest=digest,
            created=parse_created(cfg.get("created")),
            source_commit=labels.get(REVISION_LABEL) or None,
            source_repo=labels.get(SOURCE_LABEL) or None,
        )
