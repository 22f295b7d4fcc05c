"""The OCI image layout store: ``oci-layout``, ``index.json`` and ``blobs/sha256/``.

It is the embedded default store (built images, pulled bases, ``oci:DIR``
references) and the blob cache of the builder. Every write goes to a temp file
in the same directory then is renamed, so an interrupted build or pull leaves
no half-written blob or index. Touches only files under its root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from shipway.images import oci
from shipway.model.errors import InputError, NotFoundError

REF_NAME = "org.opencontainers.image.ref.name"


class Layout:
    """An OCI layout directory; created on first write."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"

    def init(self) -> None:
        if (self.root / "oci-layout").exists():
            return
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self._write_atomic(self.root / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        if not (self.root / "index.json").exists():
            self._write_index({"schemaVersion": 2, "manifests": []})

    # -- blobs ---------------------------------------------------------------
    def path(self, digest: str) -> Path:
        algo, _, hexpart = digest.partition(":")
        if (
            algo != "sha256"
            or len(hexpart) != 64
            or not all(c in "0123456789abcdef" for c in hexpart)
        ):
            raise InputError(f"unsupported digest {digest!r}", subject=str(self.root))
        return self.blob_dir / hexpart

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError("blob not in the layout", subject=f"{self.root}@{digest}") from exc

    def read_json(self, digest: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.read(digest))
        return data

    def put(self, data: bytes) -> str:
        """Store bytes; returns their digest."""
        digest = oci.sha256_digest(data)
        if not self.has(digest):
            self.init()
            self._write_atomic(self.path(digest), data)
        return digest

    @contextlib.contextmanager
    def writer(self) -> Iterator[BlobWriter]:
        """A hashing writer to a temp file; ``commit()`` renames it to its digest."""
        self.init()
        fd, name = tempfile.mkstemp(dir=self.blob_dir, prefix=".tmp-")
        w = BlobWriter(os.fdopen(fd, "wb"), Path(name), self)
        try:
            yield w
        finally:
            w.fh.close()
            Path(name).unlink(missing_ok=True)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    # -- index ---------------------------------------------------------------
    def index(self) -> dict[str, Any]:
        f = self.root / "index.json"
        if not f.exists():
            return {"schemaVersion": 2, "manifests": []}
        data: dict[str, Any] = json.loads(f.read_text())
        return data

    def _write_index(self, index: dict[str, Any]) -> None:
        self._write_atomic(self.root / "index.json", json.dumps(index, indent=2).encode())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.init()
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def tag(self, name: str, descriptor: dict[str, Any]) -> None:
        """Point ``name`` (a tag or full reference) at a manifest descriptor."""
        with self.locked():
            index = self.index()
            keep = [
                m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) != name
            ]
            desc = dict(descriptor)
            desc["annotations"] = {**desc.get("annotations", {}), REF_NAME: name}
            index["manifests"] = [*keep, desc]
            self._write_index(index)

    def untag(self, name: str) -> None:
        """Remove ``name`` from the index (the caller holds ``locked()``)."""
        index = self.index()
        index["manifests"] = [
            m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) != name
        ]
        self._write_index(index)

    def resolve(self, name: str) -> dict[str, Any]:
        """The descriptor tagged ``name``; NotFoundError when there is none."""
        for m in self.index().get("manifests", []):
            if (m.get("annotations") or {}).get(REF_NAME) == name:
                return dict(m)
        if name.startswith("sha256:") and self.has(name):
            body = self.read(name)
            return {"mediaType": oci.media_type_of(body, None), "digest": name, "size": len(body)}
        raise NotFoundError("no such image in the layout", subject=f"oci:{self.root}:{name}")

    def only(self) -> str:
        """The digest of the layout's one image, for ``oci:DIR`` without a tag (as
        containers-transports(5) reads it: the directory must hold exactly one image;
        shipway's own ``latest`` tag is taken when there are more)."""
        found = self.index().get("manifests", [])
        digests = sorted({str(m.get("digest")) for m in found})
        if len(digests) == 1:
            return digests[0]
        for m in found:
            if (m.get("annotations") or {}).get(REF_NAME) == "latest":
                return str(m["digest"])
        if not digests:
            raise NotFoundError("the layout holds no image", subject=f"oci:{self.root}")
        names = ", ".join(self.tags()) or "none tagged"
        raise InputError(
            f"the layout holds {len(digests)} images ({names}): name one as oci:DIR:TAG",
            subject=f"oci:{self.root}",
        )

    def tags(self) -> list[str]:
        out = []
        for m in self.index().get("manifests", []):
            name = (m.get("annotations") or {}).get(REF_NAME)
            if isinstance(name, str):
                out.append(name)
        return out


class BlobWriter:
    """Writes and hashes a blob; ``commit`` verifies (optionally) and renames it in place."""

    def __init__(self, fh: IO[bytes], tmp: Path, layout: Layout) -> None:
        self.fh, self.tmp, self.layout = fh, tmp, layout
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.fh.write(data)
        return len(data)

    def flush(self) -> None:
        self.fh.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()

    def commit(self, expected: str | None = None) -> str:
        self.fh.close()
        digest = self.digest
        if expected and expected != digest:
            raise InputError(f"digest mismatch: expected {expected}, got {digest}")
        os.replace(self.tmp, self.layout.path(digest))
        return digest
