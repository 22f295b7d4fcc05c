"""Flux's change request comment Providers (``githubpullrequestcomment``,
``gitlabmergerequestcomment``, ``giteapullrequestcomment``), as Flux's providers page
documents them, through shipway's forge clients (``shipway.git.forge``).

The pull/merge request is the number in the event's ``change_request`` metadata
(the involved object's ``event.toolkit.fluxcd.io/change_request`` annotation); an
event without it is skipped, as Flux filters those out. Each object has one
comment per Provider on that request, edited for every new event
(``Forge.put_comment`` finds it again by a hidden marker naming the Provider and
the object), in Flux's format: ``## Flux Status``, ``ℹ️`` (``⚠️`` for an error)
and ``Kind/namespace/name``, the message, then ``Metadata:`` as a list. The
repository is the Provider's ``address``; the token the Secret's ``token``.
"""

from __future__ import annotations

from typing import Any

from shipway.git.forge import default_api, open_forge, project_from_url
from shipway.model.errors import ShipwayError
from shipway.notify.services.base import DeliveryError
from shipway.notify.services.flux_providers import _Flux

CHANGE_REQUEST = "change_request"


def comment(payload: dict[str, Any]) -> str:
    """The comment's text for one Flux event, in Flux's documented format."""
    obj = payload.get("involvedObject") or {}
    where = "/".join(str(obj.get(k) or "") for k in ("kind", "namespace", "name") if obj.get(k))
    icon = "⚠️" if payload.get("severity") == "error" else "ℹ️"
    meta = {k: v for k, v in (payload.get("metadata") or {}).items() if k != CHANGE_REQUEST}
    lines = ["## Flux Status", "", f"{icon} {where}", "", str(payload.get("message", ""))]
    if meta:
        lines += ["", "Metadata:", *(f"* `{k}`: {v}" for k, v in meta.items())]
    return "\n".join(lines)


class ChangeRequestComment(_Flux):
    forge_kind = "github"

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        number = str((payload.get("metadata") or {}).get(CHANGE_REQUEST) or "").strip()
        if not number:
            return {"skipped": f"no {CHANGE_REQUEST} in the event's metadata"}
        if not number.isdigit():
            raise DeliveryError(f"provider {self.config.name}: {CHANGE_REQUEST} {number!r} is "
                                "not a pull or merge request number")  # fmt: skip
        opts = self.config.options
        api = str(opts.get("apiURL") or default_api(self.forge_kind, self.address))
        obj = payload.get("involvedObject") or {}
        marker = (f"<!-- flux-status {self.config.name} {obj.get('kind', '')}/"
                  f"{obj.get('namespace', '')}/{obj.get('name', '')} -->")  # fmt: skip
        forge = open_forge(self.forge_kind, api, project_from_url(self.address),
                           self.forge_token(api))  # fmt: skip
        try:
            put = forge.put_comment(int(number), f"{comment(payload)}\n\n{marker}",
                                    comment_id=str(previous.get("comment") or ""),
                                    marker=marker)  # fmt: skip
        except ShipwayError as exc:
            raise DeliveryError(self.mask(f"{self.forge_kind} {forge.project}: {exc}")) from None
        finally:
            forge.close_client()
        return {"comment": put.id, "number": int(number)}


class GitHubPullRequestComment(ChangeRequestComment):
    forge_kind = "github"


class GitLabMergeRequestComment(ChangeRequestComment):
    forge_kind = "gitlab"


class GiteaPullRequestComment(ChangeRequestComment):
    forge_kind = "gitea"


TYPES = {
    "flux:githubpullrequestcomment": GitHubPullRequestComment,
    "flux:gitlabmergerequestcomment": GitLabMergeRequestComment,
    "flux:giteapullrequestcomment": GiteaPullRequestComment,
}
