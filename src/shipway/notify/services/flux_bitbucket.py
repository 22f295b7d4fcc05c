"""Flux's ``bitbucket`` Provider type: a build status on a Bitbucket Cloud commit.

As Flux's providers page and notifier describe it: the ``address`` names the repository
(``https://bitbucket.org/<workspace>/<repo>``), the Secret's ``token`` is
``<username>:<app password>`` (Basic authentication); the event's ``revision`` metadata
names the commit (an event without one is skipped, as is an operation that only started);
``info`` is ``SUCCESSFUL``, ``error`` ``FAILED``; the status ``key`` is the SHA-1 of the
status id (``<kind>/<name>/<8 hex of the Provider>``, or the Provider's
``commitStatusExpr``), its ``name`` ``<kind>/<name>``, its ``description`` the reason in
words (``SyncFailed`` → ``sync failed``), its ``url`` ``https://bitbucket.org``. A status
already there with the same state and description is not posted again. The API is
``https://api.bitbucket.org/2.0`` (``shipway.dev/api-url`` for another). Touches the
network only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.parse
from typing import Any

from shipway.model import flux_cel
from shipway.notify.flux import OPENERS, wire
from shipway.notify.services.base import DeliveryError, http
from shipway.notify.services.flux_providers import _Flux, _sha

API = "https://api.bitbucket.org/2.0"
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def description(reason: str) -> str:
    """``SyncFailed`` → ``sync failed``, as Flux words a reason."""
    return " ".join(_WORDS.findall(reason)).lower() or reason.lower()


class BitbucketStatus(_Flux):
    def _repo(self) -> tuple[str, str]:
        path = urllib.parse.urlsplit(self.address).path.strip("/").removesuffix(".git")
        parts = path.split("/")
        if len(parts) != 2 or not all(parts):
            raise DeliveryError(f"provider {self.config.name}: invalid repository id "
                                f"{path!r} (the address is https://bitbucket.org/<workspace>"
                                "/<repo>)")  # fmt: skip
        return parts[0], parts[1]

    def _auth(self) -> str:
        token = str(self.config.options.get("token") or "")
        user, sep, password = token.partition(":")
        if not token:
            raise DeliveryError(f"provider {self.config.name}: bitbucket token cannot be empty")
        if not sep or not user or ":" in password:
            raise DeliveryError(f"provider {self.config.name}: invalid token format, expected "
                                "to be <user>:<password>")  # fmt: skip
        return "Basic " + base64.b64encode(token.encode()).decode()

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        if payload.get("reason") in OPENERS:
            return {"skipped": "an operation that started (Flux's Progressing)"}
        sha = _sha(str((payload.get("metadata") or {}).get("revision") or ""))
        if not sha:
            return {"skipped": "no revision in the event's metadata"}
        owner, repo = self._repo()
        auth = self._auth()
        obj = payload.get("involvedObject") or {}
        uid = hashlib.sha256(self.config.name.encode()).hexdigest()[:8]
        status_id = f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}/{uid}"
        if opts.get("commitStatusExpr"):
            activation = {"event": wire(payload), "provider": opts.get("provider") or {},
                          "alert": opts.get("alert") or {}}  # fmt: skip
            try:
                status_id = flux_cel.evaluate(str(opts["commitStatusExpr"]), activation)
            except ValueError as exc:
                raise DeliveryError(f"provider {self.config.name}: {exc}") from None
        body = {
            "state": "FAILED" if payload.get("severity") == "error" else "SUCCESSFUL",
            "key": hashlib.sha1(status_id.encode()).hexdigest(),
            "name": f"{obj.get('kind', '')}/{obj.get('name', '')}".lower(),
            "description": description(str(payload.get("reason", ""))),
            "url": "https://bitbucket.org",
        }
        api = str(opts.get("apiURL") or API).rstrip("/")
        base = f"{api}/repositories/{owner}/{repo}/commit/{sha}/statuses/build"
        headers = {"Authorization": auth, "Accept": "application/json"}
        try:
            _, raw = http(self, "GET", f"{base}/{body['key']}", None, headers,
                          timeout=self.timeout, context=self.tls, proxy=self.proxy)  # fmt: skip
            have = json.loads(raw or b"{}")
        except DeliveryError as exc:
            if ": HTTP 404:" not in str(exc):
                raise
            have = {}
        if have.get("state") == body["state"] and have.get("description") == body["description"]:
            return {"skipped": "the same status is there", "key": body["key"]}
        self.post(base, body, {"Authorization": auth})
        return {"state": body["state"], "key": body["key"], "sha": sha}


TYPES = {"flux:bitbucket": BitbucketStatus}
