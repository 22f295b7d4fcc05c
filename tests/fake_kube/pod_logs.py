"""The Pod ``log`` subresource of the fake API server when no kubelet runs Pods.

``GET /api/v1/namespaces/NS/pods/NAME/log`` answers as the real API does:
404 for a missing Pod; 400 ``a container name must be specified for pod NAME,
choose one of: [a b]`` when the Pod has several containers and none is named;
400 ``container X is not valid for pod NAME`` for a name not in the Pod. The
text is what a test wrote with ``FakeKube.logs.write`` (a container's output
so far); ``tailLines=N`` keeps the last N lines; ``follow=true`` streams the
text, then each later ``write``, until the container ends (``end``), the Pod
is deleted, the fake closes or the client goes away. The body is chunked
``text/plain``, as a kubelet's. May touch: the handler's connection; reads the
fake's store under its lock (whose notifications wake followers).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from fake_kube.store import ApiError

if TYPE_CHECKING:
    from fake_kube.store import Store

Key = tuple[str, str, str]  # namespace, pod, container


def pick_container(pod: dict[str, Any] | None, name: str, container: str | None) -> str:
    """The container ``container`` names in ``pod`` (its only one when unnamed), as the API."""
    if pod is None:
        raise ApiError(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if not container:
        if len(names) != 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod "
                           f"{name}, choose one of: [{' '.join(names)}]")  # fmt: skip
        return names[0]
    if container not in names:
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    return container


class PodLogs:
    """Each container's output so far, set by tests; served (and followed) over HTTP."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.text: dict[Key, str] = {}
        self.ended: set[Key] = set()
        self.closing = False

    def _key(self, ns: str, pod: str, container: str | None) -> Key:
        with self.store.lock:
            found = self.store.objects.get(("Pod", ns, pod))
            return ns, pod, pick_container(found, pod, container)

    def write(self, ns: str, pod: str, text: str, container: str | None = None) -> None:
        """Append ``text`` to the container's output (followers get it at once)."""
        key = self._key(ns, pod, container)
        with self.store.lock:
            self.text[key] = self.text.get(key, "") + text
            self.store.lock.notify_all()

    def end(self, ns: str, pod: str, container: str | None = None) -> None:
        """The container has exited: a follow stream ends after its last line."""
        key = self._key(ns, pod, container)
        with self.store.lock:
            self.ended.add(key)
            self.store.lock.notify_all()

    def close(self) -> None:
        with self.store.lock:
            self.closing = True
            self.store.lock.notify_all()

    def serve(self, handler: Any, ns: str, name: str, q: dict[str, list[str]]) -> None:
        """Answer one ``log`` request on ``handler`` (an ``ApiError`` before any byte is sent)."""
        key = self._key(ns, name, (q.get("container") or [""])[-1])
        follow = (q.get("follow") or ["false"])[-1] == "true"
        tail = (q.get("tailLines") or [""])[-1]
        if tail and not tail.lstrip("-").isdigit():
            raise ApiError(400, "BadRequest", f"tailLines: invalid value {tail!r}")
        with self.store.lock:
            text = self.text.get(key, "")
        sent = len(text)
        if tail and int(tail) >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - int(tail) :]) if int(tail) else ""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            _chunk(handler, text)
            while follow:
                with self.store.lock:
                    self.store.lock.wait_for(functools.partial(self._moved, key, sent), timeout=1.0)
                    now = self.text.get(key, "")
                    done = self._over(key) and len(now) == sent
                if len(now) > sent:
                    _chunk(handler, now[sent:])
                    sent = len(now)
                if done:
                    break
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _over(self, key: Key) -> bool:
        gone = ("Pod", key[0], key[1]) not in self.store.objects
        return self.closing or gone or key in self.ended

    def _moved(self, key: Key, sent: int) -> bool:
        return len(self.text.get(key, "")) > sent or self._over(key)


def _chunk(handler: Any, text: str) -> None:
    if text:
        data = text.encode()
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
