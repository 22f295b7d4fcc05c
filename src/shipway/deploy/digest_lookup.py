"""Tag → digest lookups for the comparisons of ``mutateDigest`` pins: one per tag per pass.

A comparison re-resolves every image a ``mutateDigest`` rule pinned
(``shipway.deploy.digest_pins``). ``Lookups`` is what one reconcile pass
(``bulk.refresh_all``), one refresh or one sync asks through:

- each image is asked once (every application running it shares the answer),
  with one ``HEAD`` per tag and one client per registry (one connection, one
  token exchange);
- a registry that cannot be reached, or answers 5xx/429, is not asked again in
  the pass: its images fail at once with the first error (the comparison keeps
  their recorded digest and reports it), and the next pass asks again;
- answers are kept process-wide for ``ttl`` seconds (``SHIPWAY_DIGEST_TTL``,
  30 s by default; ``0`` asks every pass), so passes close together (a push
  webhook and the periodic pass) cost one lookup per tag. Failures are never
  kept. ``forget`` drops a repository's answers (a registry push notification).

``requests`` counts the registry round trips this object made.

Touches the registry; the process-wide answers are in memory only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from shipway.images import reference
from shipway.images.registry import RegistryClient
from shipway.model.errors import InputError, RegistryError, ShipwayError

DEFAULT_TTL = 30.0
_MAX_KEPT = 100_000

ClientFactory = Callable[[str], RegistryClient]


def ttl_from_env() -> float:
    """``SHIPWAY_DIGEST_TTL`` seconds (default 30; ``0`` resolves every pass)."""
    raw = os.environ.get("SHIPWAY_DIGEST_TTL", "").strip()
    if not raw:
        return DEFAULT_TTL
    try:
        value = float(raw)
    except ValueError as exc:
        raise InputError(
            f"SHIPWAY_DIGEST_TTL: {raw!r} is not a number of seconds", subject="SHIPWAY_DIGEST_TTL"
        ) from exc
    return max(value, 0.0)


def _client(host: str) -> RegistryClient:
    # a comparison fails fast (one retry): the next pass asks again, and the pins hold meanwhile
    return RegistryClient(host, retries=1)


_known: dict[str, tuple[float, str | None]] = {}  # image -> (monotonic time asked, digest)
_known_lock = threading.Lock()
_sent = [0]  # registry round trips made by every Lookups of this process


def _now() -> float:
    return time.monotonic()


def requests_sent() -> int:
    """Registry round trips all lookups of this process made (a pass's cost is a difference)."""
    return _sent[0]


def forget(repository: str | None = None) -> None:
    """Drop the kept answers of a repository (``host/repo``, any spelling a reference parses
    to; every answer when None): a push to it was notified, so the next pass asks."""
    wanted = _repo_of(repository) if repository is not None else None
    if wanted == "":
        return  # not a reference: nothing kept is about it
    with _known_lock:
        if wanted is None:
            _known.clear()
            return
        for image in [i for i in _known if _repo_of(i) == wanted]:
            del _known[image]


def _repo_of(image: str) -> str:
    try:
        return reference.parse(image).name
    except ShipwayError:
        return ""


def _host_wide(exc: RegistryError) -> bool:
    """A failure of the registry itself (unreachable, 5xx, 429), not of one repository."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


class Lookups:
    """The digests of tags for one pass; ``digest(image)`` raises RegistryError when it fails."""

    def __init__(
        self,
        ttl: float = 0.0,
        *,
        client_for: ClientFactory = _client,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.ttl, self._client_for, self._clock = ttl, client_for, clock or _now
        self._clients: dict[str, RegistryClient] = {}
        self._pass: dict[str, str | None] = {}
        self._failed: dict[str, ShipwayError] = {}  # image or registry host -> first error
        self._lock = threading.Lock()
        self.requests = 0

    def digest(self, image: str) -> str | None:
        """The digest ``image``'s tag points at now (None: the tag does not exist)."""
        with self._lock:
            if image in self._pass:
                return self._pass[image]
            if image in self._failed:
                raise self._failed[image]
            kept = self._kept(image)
            if kept is not None:
                self._pass[image] = kept[1]
                return kept[1]
            ref = reference.parse(image)
            down = self._failed.get(ref.registry)
            if down is not None:
                raise RegistryError(f"{down.message} (not asked again in this pass)", subject=image)
            try:
                digest = self._ask(ref)
            except RegistryError as exc:
                self._failed[image] = exc
                if _host_wide(exc):
                    self._failed[ref.registry] = exc
                raise
            except ShipwayError as exc:
                self._failed[image] = exc
                raise
            self._pass[image] = digest
            self._keep(image, digest)
            return digest

    def learn(self, pins: Mapping[str, str]) -> None:
        """Record what a sync just resolved: ``{image: registry/repo:tag@digest}``."""
        with self._lock:
            for image, deployed in pins.items():
                digest = deployed.rpartition("@")[2]
                if digest:
                    self._pass[image] = digest
                    self._failed.pop(image, None)
                    self._keep(image, digest)

    def failed(self, image: str) -> bool:
        return image in self._failed

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> Lookups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside the lock ------------------------------------------------------------------------
    def _ask(self, ref: reference.Reference) -> str | None:
        client = self._clients.get(ref.registry)
        if client is None:
            client = self._clients[ref.registry] = self._client_for(ref.registry)
        before = client.requests
        try:
            return client.head_manifest(ref.repository, ref.reference)
        finally:
            self.requests += client.requests - before
            with _known_lock:
                _sent[0] += client.requests - before

    def _kept(self, image: str) -> tuple[float, str | None] | None:
        if self.ttl <= 0:
            return None
        with _known_lock:
            hit = _known.get(image)
        if hit is None or self._clock() - hit[0] > self.ttl:
            return None
        return hit

    def _keep(self, image: str, digest: str | None) -> None:
        with _known_lock:
            if len(_known) >= _MAX_KEPT:
                _known.clear()
            _known[image] = (self._clock(), digest)
