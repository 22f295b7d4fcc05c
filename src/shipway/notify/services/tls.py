"""TLS client contexts for a Flux Provider's ``certSecretRef``: the Secret's ``ca.crt`` (a
private CA, instead of the system's) and ``tls.crt`` with ``tls.key`` (a client
certificate: mutual TLS), as Flux's providers page documents the keys.

``client_context(ca, cert, key)`` builds one (kept per content); the key is written to
a private temporary file only while it is loaded (Python's ``ssl`` reads files). A PEM
that does not load is a ``DeliveryError`` naming which key, never its text.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import threading

from shipway.notify.services.base import DeliveryError

_CONTEXTS: dict[str, ssl.SSLContext] = {}
_LOCK = threading.Lock()


def client_context(ca: str, cert: str, key: str, *, subject: str) -> ssl.SSLContext:
    if bool(cert) != bool(key):
        raise DeliveryError(f"{subject}: tls.crt and tls.key go together")
    if not (ca or cert):
        raise DeliveryError(f"{subject}: the certSecretRef Secret has no ca.crt or tls.crt")
    memo = hashlib.sha256("\x00".join((ca, cert, key)).encode()).hexdigest()
    with _LOCK:
        if memo in _CONTEXTS:
            return _CONTEXTS[memo]
    try:
        ctx = ssl.create_default_context(cadata=ca) if ca else ssl.create_default_context()
    except ssl.SSLError:
        raise DeliveryError(f"{subject}: ca.crt is not a PEM certificate") from None
    if cert:
        with tempfile.TemporaryDirectory() as tmp:
            paths = (os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key"))
            for path, text in zip(paths, (cert, key), strict=True):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
            try:
                ctx.load_cert_chain(*paths)
            except ssl.SSLError:
                raise DeliveryError(f"{subject}: tls.crt and tls.key are not a PEM certificate "
                                    "and its key") from None  # fmt: skip
    with _LOCK:
        _CONTEXTS[memo] = ctx
    return ctx
