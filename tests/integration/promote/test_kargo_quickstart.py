"""Kargo's quickstart as its users apply it: the Project, the git credentials Secret, the
Warehouse, the PromotionTask and the three Stages of ``tests/kargo_docs/01-quickstart.yaml``,
with only the page's ``${GITOPS_REPO_URL}``, ``${GITHUB_USERNAME}`` and ``${GITHUB_PAT}``
filled in, promoted to test with ``shipway promote`` against a git server that refuses
anonymous requests (the Secret is the only way in).

The quickstart's last step, argocd-update, needs the Argo CD Application the page makes
with its ApplicationSet, synced from the same private repository; shipway's reconciler
reads Argo CD repositories without credentials, so here the step is expected to fail on
the missing Application, after every git write the quickstart makes has happened.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from private_git import PrivateGit, serve
from promote_helpers import write

from shipway.cli.main import main
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store import resources as store
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

DOCS = Path(__file__).parents[2] / "kargo_docs" / "01-quickstart.yaml"
TOKEN = "quickstart-pat-42"


@pytest.fixture
def private_git(tmp_path: Path) -> Iterator[PrivateGit]:
    with serve(tmp_path / "private", "octocat", TOKEN) as git:
        yield git


def sh(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def _seed(bare: Path, work: Path) -> None:
    """The kargo-demo repository's layout: ``base/`` (nginx) and a ``stages/test`` overlay."""
    repo = Repo.init(work)
    pod = {"containers": [{"name": "nginx", "image": "public.ecr.aws/nginx/nginx:1.26.0"}]}
    write(work, "base/deploy.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kargo-demo"},
        "spec": {"selector": {"matchLabels": {"app": "demo"}},
                 "template": {"metadata": {"labels": {"app": "demo"}}, "spec": pod}}})  # fmt: skip
    write(work, "base/kustomization.yaml", {"resources": ["deploy.yaml"]})
    write(work, "stages/test/kustomization.yaml", {"resources": ["../../base"]})
    repo.add_all()
    repo.commit("seed")
    repo.push(str(bare), "HEAD:refs/heads/main")  # the seed goes in by the file path


def test_the_quickstart_promotes_to_test_through_its_secret(
    private_git: PrivateGit, shipway_home: Path, tmp_path: Path
) -> None:
    url = private_git.bare("kargo-demo")
    _seed(private_git.path("kargo-demo"), tmp_path / "seed")
    text = DOCS.read_text().replace("https://git.example.com/acme/kargo-demo.git", url)
    text = text.replace("docs-user", "octocat").replace("docs-personal-access-token", TOKEN)
    kargo = "\n---\n".join(d for d in text.split("\n---\n") if "kind: ApplicationSet" not in d)
    (tmp_path / "quickstart.yaml").write_text(kargo)
    code, out = sh("apply", "-f", str(tmp_path / "quickstart.yaml"))
    assert code == 0, out
    assert "secret/kargo-demo-repo created" in out and "stage/prod created" in out
    db = open_store(Settings())
    freight = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
               "metadata": {"name": "b2ceb4f821be", "namespace": "kargo-demo"},
               "alias": "lanky-pika", "origin": {"kind": "Warehouse", "name": "kargo-demo"},
               "images": [{"repoURL": "public.ecr.aws/nginx/nginx", "tag": "1.27.1",
                           "digest": "sha256:" + "8" * 64}]}  # fmt: skip
    from shipway.model.resources import parse_text

    store.apply(db, parse_text(yaml.safe_dump(freight), "freight.yaml"))

    code, out = sh("promote", "--project", "kargo-demo", "--freight", "lanky-pika",
                   "--stage", "test", "--wait")  # fmt: skip
    assert code == 1, out  # the Application the ApplicationSet would make is not here
    [promo] = store.list_kind(db, "Promotion", "kargo-demo")
    metas = promo.status["stepExecutionMetadata"]
    assert [m["alias"] for m in metas] == [
        "promo-process::step-0", "promo-process::step-1", "promo-process::update",
        "promo-process::step-3", "promo-process::commit", "promo-process::step-5",
        "promo-process::step-6"]  # fmt: skip
    assert [m["status"] for m in metas[:-1]] == ["Succeeded"] * 6, json.dumps(metas)
    assert "kargo-demo-test" in metas[-1]["message"] and "not found" in metas[-1]["message"]
    assert "promo-process::step-6" in out
    # the quickstart's writes reached the private repository through the Secret
    bare = Repo(private_git.path("kargo-demo"))
    rendered = bare.run("show", "refs/heads/stage/test:deployment-kargo-demo.yaml")
    assert "public.ecr.aws/nginx/nginx:1.27.1" in rendered
    assert any(s for s in private_git.seen) and TOKEN not in out
    db.close()
