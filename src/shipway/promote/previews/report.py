"""A preview's state back on its pull request: one commit status and one comment.

The commit status ``shipway/preview`` on the head commit carries the preview's
URL as ``target_url`` once it is up (pending while building and deploying,
failure with the reason). The comment is created once and edited in place on
every update (its id is kept on the preview; a comment someone deleted is
found again by its hidden marker or made anew). A forge that refuses either is
an event (``PreviewStatusRefused``, ``PreviewCommentRefused``), never a
failure of the preview. Touches the forge API and the event log.
"""

from __future__ import annotations

import logging

from shipway.git import forge as forge_mod
from shipway.model import events as ev
from shipway.model.errors import ShipwayError
from shipway.model.preview import Preview
from shipway.store import events as store_events
from shipway.store.db import Store

log = logging.getLogger("shipway.previews")
CONTEXT = "shipway/preview"


def marker(name: str) -> str:
    return f"<!-- shipway-preview:{name} -->"


def comment_body(p: Preview) -> str:
    """The one comment's text for the preview's state now."""
    sha = (p.deployed_sha or p.head_sha)[:7]
    lines = [marker(p.name), f"**Preview `{p.name}`**", ""]
    if p.phase == "Ready":
        lines.append(f"Ready at {p.preview_url or '(no published port)'} — commit `{sha}`.")
    elif p.phase == "Failed":
        lines.append(f"Failed for commit `{p.head_sha[:7]}`: {p.message}")
    elif p.phase == "Deleting":
        lines.append(f"Removed: {p.message}")
    else:
        lines.append(f"{p.phase} commit `{p.head_sha[:7]}`…")
    if p.applications:
        lines.append("")
        lines.append("Applications: " + ", ".join(f"`{a}`" for a in p.applications))
    if p.image:
        lines.append(f"Image: `{p.image}`")
    if p.expires and p.phase != "Deleting":
        lines.append(f"Expires: {p.to_dict()['expires']}")
    return "\n".join(lines)


def _event(store: Store, p: Preview, reason: str, message: str) -> None:
    store_events.emit(store, ev.ObjectRef("ApplicationSet", p.appset, p.appset_namespace),
                      reason, f"{p.name}: {message}", type=ev.WARNING,
                      source="previews")  # fmt: skip


def report(
    store: Store,
    p: Preview,
    client: forge_mod.Forge,
    *,
    state: str,
    description: str,
    status: bool = True,
) -> Preview:
    """Set the commit status (unless ``status`` is False) and the comment through
    ``client`` (the caller's, kept open); return the preview with its comment id."""
    if status:
        try:
            client.set_status(p.head_sha, state, CONTEXT, description, p.preview_url)
        except ShipwayError as exc:
            log.warning("preview status of %s not set: %s", p.name, exc)
            _event(store, p, "PreviewStatusRefused", f"{state} {p.head_sha[:12]}: {exc}")
    try:
        return p.evolve(comment_id=_comment(client, p))
    except ShipwayError as exc:
        log.warning("preview comment of %s not written: %s", p.name, exc)
        _event(store, p, "PreviewCommentRefused", str(exc))
        return p


def _comment(client: forge_mod.Forge, p: Preview) -> str:
    put = client.put_comment(p.number, comment_body(p), comment_id=p.comment_id,
                             marker=marker(p.name))  # fmt: skip
    return put.id
