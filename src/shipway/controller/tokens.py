"""The credentials the controller's hooks accept: per-repository git tokens and hook secrets.

Every token is derived from one random key kept in the store (``hook_keys``,
made on first use, shared by every controller on the database):

- the git hook of a repository sends ``Authorization: Bearer <token>``, the
  HMAC-SHA256 of the repository's URL (compared as Argo CD compares URLs), so
  a token for one repository is worth nothing for another;
- registry notifications carry ``SHIPWAY_REGISTRY_WEBHOOK_SECRET``, else the
  derived ``registry`` token;
- forge webhooks are signed with ``SHIPWAY_WEBHOOK_SECRET``, else the derived
  ``forge`` secret;
- a Tekton EventListener's hook (``/hooks/tekton/<namespace>/<name>``) takes
  ``Authorization: Bearer <token>``, the HMAC of ``<namespace>/<name>``.

``rotate`` replaces the key: every derived token stops working (configured
secrets do not change). Touches only the store (the key is read once and kept).
"""

from __future__ import annotations

import hashlib
import hmac
import threading

from shipway.settings import Settings
from shipway.store import inbox
from shipway.store.db import Store

KEY_NAME = "hooks"


def normalise_repo(url: str) -> str:
    """A repository URL without a trailing slash or ``.git``, lower case (Argo CD's comparison)."""
    u = url.strip().rstrip("/")
    return (u[:-4] if u.endswith(".git") else u).lower()


class HookTokens:
    """Derives and checks hook credentials; thread-safe."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _derive(self, purpose: str) -> str:
        with self._lock:
            if self._key is None:
                self._key = inbox.hook_key(self.store, KEY_NAME).encode()
            key = self._key
        return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()

    def git(self, repo_url: str) -> str:
        """The token the post-receive hook of ``repo_url`` sends."""
        return self._derive("git\n" + normalise_repo(repo_url))

    def registry(self) -> str:
        return self.settings.registry_webhook_secret or self._derive("registry")

    def forge(self) -> str:
        return self.settings.webhook_secret or self._derive("forge")

    def tekton(self, namespace: str, listener: str) -> str:
        """The bearer token of the EventListener ``namespace/listener``'s hook."""
        return self._derive(f"tekton\n{namespace}/{listener}")

    def check_git(self, repo_url: str, authorization: str) -> bool:
        """Whether an ``Authorization`` header (``Bearer <token>``) is the token of ``repo_url``."""
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return hmac.compare_digest(token.strip().encode(), self.git(repo_url).encode())

    def rotate(self) -> None:
        inbox.rotate_hook_key(self.store, KEY_NAME)
        with self._lock:
            self._key = None
