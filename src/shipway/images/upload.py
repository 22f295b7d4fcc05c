"""Blob uploads of the registry client: cross-repository mount, monolithic and
chunked uploads, and resuming a chunked upload cut by a network error.

A mixin of ``RegistryClient`` (kept apart to keep modules small); it uses the
client's ``request`` and touches nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipway.images.httputil import pull_scope, push_scope, read_at, with_digest
from shipway.model.errors import RegistryError

if TYPE_CHECKING:  # only for annotations: registry imports this module
    from shipway.images.registry import RegistryClient

_OCTET = "application/octet-stream"


class _SessionLost(Exception):
    """The registry no longer knows an upload session."""


def mount_blob(client: RegistryClient, repository: str, digest: str, source_repo: str) -> bool:
    """Cross-repository mount; True when the registry mounted it (201)."""
    resp = client.request(
        "POST",
        f"/v2/{repository}/blobs/uploads/",
        scopes=[push_scope(repository), pull_scope(source_repo)],
        subject=client.subject_for(repository, digest),
        ok=(201, 202),
        params={"mount": digest, "from": source_repo},
    )
    if resp.status_code == 202 and "location" in resp.headers:  # abandon the session
        client.request(
            "DELETE",
            resp.headers["location"],
            scopes=[push_scope(repository)],
            subject=client.subject_for(repository, digest),
            ok=(204, 200),
            allow=(404, 405, 400),
        )
    return resp.status_code == 201


def upload_blob(
    client: RegistryClient,
    repository: str,
    digest: str,
    data: bytes | Path,
    *,
    chunk_size: int | None = None,
) -> None:
    """Upload a blob: one PUT, or PATCH chunks of ``chunk_size`` then PUT.

    A chunked upload cut by a network error resumes from the offset the
    registry reports for the session (``GET`` of its Location, ``Range``);
    when the session is gone it starts over once.
    """
    subject = client.subject_for(repository, digest)
    scopes = [push_scope(repository)]
    for attempt in range(2):
        loc = _start_upload(client, repository, scopes, subject)
        if not chunk_size:
            break
        try:
            loc = _patch_chunks(client, loc, data, chunk_size, scopes, subject)
            break
        except _SessionLost:
            if attempt == 1:
                raise RegistryError("upload session lost twice", subject=subject) from None
    body: bytes | Path = b"" if chunk_size else data
    headers = {"Content-Type": _OCTET}
    client.request(
        "PUT",
        with_digest(loc, digest),
        scopes=scopes,
        subject=subject,
        ok=(201,),
        body=body,
        headers=headers,
    )


def _start_upload(client: RegistryClient, repository: str, scopes: list[str], subject: str) -> str:
    resp = client.request(
        "POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes, subject=subject, ok=(202,)
    )
    return client.location(resp, subject)


def _patch_chunks(
    client: RegistryClient,
    loc: str,
    data: bytes | Path,
    chunk_size: int,
    scopes: list[str],
    subject: str,
) -> str:
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    offset = 0
    while offset < size:
        chunk = read_at(data, offset, chunk_size)
        end = offset + len(chunk) - 1
        headers = {"Content-Range": f"{offset}-{end}", "Content-Type": _OCTET}
        try:
            resp = client.request(
                "PATCH",
                loc,
                scopes=scopes,
                subject=subject,
                ok=(202,),
                body=chunk,
                headers=headers,
            )
        except RegistryError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            loc, offset = _upload_status(client, loc, scopes, subject)
            continue
        loc = client.location(resp, subject)
        offset = end + 1
    return loc


def _upload_status(
    client: RegistryClient, loc: str, scopes: list[str], subject: str
) -> tuple[str, int]:
    """Where an interrupted session stands: ``(location, next offset)``."""
    try:
        resp = client.request("GET", loc, scopes=scopes, subject=subject, ok=(204,))
    except RegistryError:
        raise _SessionLost() from None
    last = resp.headers.get("range", "0-0").split("-")[-1]
    offset = int(last) + 1 if last.isdigit() and int(last) > 0 else 0
    return client.location(resp, subject), offset
