"""GitHub (Argo CD's ``service.github``): a commit status and a pull request comment,
through shipway's forge client (``shipway.git.forge``).

The template's ``github`` fields, as Argo CD documents them: ``repoURLPath``
(default ``{{.app.spec.source.repoURL}}``) and ``revisionPath`` (default
``{{.app.status.operationState.syncResult.revision}}``) name the commit;
``status`` (``state`` pending|success|error|failure, ``label``, default
``continuous-delivery/<app>``, ``targetURL``) sets its commit status, with the
message as description; ``pullRequestComment.content`` comments on each pull
request associated with that commit (``Forge.pulls_for_commit``); ``deployment``
and ``checkRun`` make a GitHub deployment with its status and a check run
(``services.github_checks``). shipway keeps
one comment per pull request and edits it in place (``Forge.put_comment``: the
delivery record keeps the comment ids) instead of adding one per notification;
``pullRequestComment.commentTag`` appends Argo CD's hidden tag
(``<!-- argocd-notifications TAG -->``), by which the comment is found again when
its id is lost, as Argo CD finds it. The service's options: ``apiURL`` (shipway: used
as is) or ``enterpriseBaseURL`` (``/api/v3`` appended, as Argo CD's client
does), and either a GitHub App's ``appID``, ``installationID`` and
``privateKey`` (Argo CD's form: an installation token is minted,
``services.github_app``) or ``token`` (shipway; e.g. ``$github-token``).
"""

from __future__ import annotations

from typing import Any

from shipway.git.forge import Forge, open_forge, project_from_url
from shipway.model.errors import ShipwayError
from shipway.notify.services import github_app, github_checks
from shipway.notify.services.base import DeliveryError, Service


def _api(opts: dict[str, Any]) -> str:
    if opts.get("apiURL"):
        return str(opts["apiURL"]).rstrip("/")
    base = str(opts.get("enterpriseBaseURL") or "").rstrip("/")
    if not base:
        return "https://api.github.com"
    return base if base.endswith("/api/v3") else base + "/api/v3"


class GitHubService(Service):
    forge_kind = "github"

    def _forge(self, repo_url: str) -> Forge:
        opts = dict(self.config.options)
        token = str(opts.get("token") or "")
        app = [str(opts.get(k) or "") for k in ("appID", "installationID", "privateKey")]
        if not token and all(app):
            token = github_app.installation_token(_api(opts), *app)
        if not token:
            raise DeliveryError("github: set token (e.g. token: $github-token), or appID, "
                                "installationID and privateKey of a GitHub App")  # fmt: skip
        return open_forge(self.forge_kind, _api(opts), project_from_url(repo_url), token)

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        gh = payload.get("github") or {}
        repo, sha = str(gh.get("repoURLPath") or ""), str(gh.get("revisionPath") or "")
        if not repo or not sha:
            raise DeliveryError(f"github: no repository ({repo!r}) or revision ({sha!r})")
        comments = dict(previous.get("comments") or {})
        forge = self._forge(repo)
        try:
            status = gh.get("status") or {}
            if status.get("state"):
                label = str(status.get("label") or f"continuous-delivery/{payload.get('app', '')}")
                forge.set_status(sha, str(status["state"]), label,
                                 str(payload.get("message", ""))[:140],
                                 str(status.get("targetURL") or ""))  # fmt: skip
            deployment = gh.get("deployment") or {}
            if deployment.get("state"):
                github_checks.deploy(forge, sha, deployment)
            check = gh.get("checkRun") or {}
            if check:
                github_checks.check_run(forge, sha, check, str(payload.get("app", "")))
            pr_comment = gh.get("pullRequestComment") or {}
            content = str(pr_comment.get("content") or "")
            tag = str(pr_comment.get("commentTag") or "")
            marker = f"<!-- argocd-notifications {tag} -->" if tag else ""
            if content:
                body = f"{content}\n{marker}" if marker else content
                for number in forge.pulls_for_commit(sha):
                    known = str(comments.get(str(number)) or "")
                    put = forge.put_comment(number, body, comment_id=known, marker=marker)
                    comments[str(number)] = put.id
        except ShipwayError as exc:  # a 404 or 422 (NotFound/Conflict) is an answer too
            raise DeliveryError(self.mask(f"github {forge.project}: {exc.message}")) from None
        finally:
            forge.close_client()
        return {"comments": comments, "revision": sha}
