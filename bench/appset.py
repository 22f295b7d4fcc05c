"""ApplicationSet figures: rendering N Applications, and polling N open pull requests.

1. ``plan.desired`` for a list generator of N elements, fasttemplate and goTemplate
   (sprig ``upper``/``trunc``), with a templatePatch in the goTemplate case.
2. A pullRequest generator over N open pull requests on the in-process forge fake
   (GitHub shape, a real bare repository behind it): the first reconcile (lists,
   renders, stores N Applications), then a second one with nothing changed (every
   page answered ``304 Not Modified``: no rate limit spent), then one after a push
   to one pull request's branch. Requests per pass are printed beside the times.
   Anchor: Argo CD's pull-request generator polls every 30 minutes by default.

Figures are the median of ``--repeat`` runs, in milliseconds.

    .venv/bin/python bench/appset.py [--repeat 5] [--apps 100 1000] [--pulls 50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from forge_server import TOKEN, ForgeServer
from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy.appset import engine, plan
from shipway.git.forge import open_forge
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import open_store


class _NoInputs:
    def tree(self, repo_url: str, revision: str) -> Any:
        raise AssertionError

    def read(self, repo_url: str, commit: str, path: str) -> bytes:
        raise AssertionError

    def clusters(self) -> list[Any]:
        return []

    def pulls(self, generator: dict[str, Any], namespace: str) -> list[Any]:
        return []


def _set(spec: dict[str, Any]) -> Any:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
           "metadata": {"name": "bench"}, "spec": spec}  # fmt: skip
    return parse_text(yaml.safe_dump(doc), "bench.yaml")[0]


def _median(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def render_bench(n: int, repeat: int) -> None:
    elements = [{"cluster": f"cluster-{i}", "url": f"https://10.0.{i // 250}.{i % 250}"}
                for i in range(n)]  # fmt: skip
    fast = _set({
        "generators": [{"list": {"elements": elements}}],
        "template": {"metadata": {"name": "{{cluster}}-web"},
                     "spec": {"source": {"repoURL": "https://g/x.git", "path": "apps/{{cluster}}"},
                              "destination": {"server": "{{url}}", "namespace": "web"}}},
    })  # fmt: skip
    go = _set({
        "goTemplate": True, "goTemplateOptions": ["missingkey=error"],
        "generators": [{"list": {"elements": elements}}],
        "template": {"metadata": {"name": "{{ .cluster | trunc 40 }}-web"},
                     "spec": {"source": {"repoURL": "https://g/x.git",
                                         "path": "apps/{{ .cluster | upper | lower }}"},
                              "destination": {"server": "{{.url}}", "namespace": "web"}}},
        "templatePatch": "metadata:\n  labels:\n    cluster: '{{ .cluster }}'\n",
    })  # fmt: skip
    inputs = _NoInputs()
    f = _median(lambda: plan.desired(fast, inputs), repeat)
    g = _median(lambda: plan.desired(go, inputs), repeat)
    print(f"render {n:>5} apps: fasttemplate {f:8.1f} ms ({f * 1000 / n:6.1f} us/app)   "
          f"goTemplate+patch {g:8.1f} ms ({g * 1000 / n:6.1f} us/app)")  # fmt: skip


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def pulls_bench(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare = root / "web.git"
        _git("init", "-q", "--bare", str(bare), cwd=root)
        tree = _git("hash-object", "-t", "tree", "-w", "--stdin", cwd=bare)
        env_commit = ["-c", "user.name=b", "-c", "user.email=b@x"]
        base = _git(*env_commit, "commit-tree", tree, "-m", "base", cwd=bare)
        _git("update-ref", "refs/heads/main", base, cwd=bare)
        for i in range(n):
            sha = _git(*env_commit, "commit-tree", tree, "-p", base, "-m", f"pr {i}", cwd=bare)
            _git("update-ref", f"refs/heads/feature-{i}", sha, cwd=bare)
        forge = ForgeServer()
        forge.add_repo("team/web", bare)
        client = open_forge("github", forge.api("github"), "team/web", TOKEN)
        for i in range(n):
            client.create(f"feature-{i}", "main", f"Feature {i}", "")
        settings = Settings(home=root / "home")
        store = open_store(settings)
        cluster.register("mem-bench", MemoryTarget("mem-bench"))
        secret = settings.home / "secrets" / "argocd" / "tok.yaml"
        secret.parent.mkdir(parents=True)
        secret.write_text(yaml.safe_dump({"stringData": {"token": TOKEN}}))
        spec = {
            "generators": [{"pullRequest": {"github": {
                "owner": "team", "repo": "web", "api": forge.api("github"),
                "tokenRef": {"secretName": "tok", "key": "token"}}}}],
            "template": {"metadata": {"name": "web-{{branch_slug}}-{{number}}"},
                         "spec": {"source": {"repoURL": "https://g/web.git", "path": "deploy",
                                             "targetRevision": "{{head_sha}}"},
                                  "destination": {"name": "mem-bench", "namespace": "pr"}}},
        }  # fmt: skip
        store_resources.apply(store, [_set(spec)])
        forges = engine.ForgeCache()

        def once() -> tuple[float, engine.Result, int, int]:
            inputs = engine.StoreInputs(store, settings, forges)
            t = time.perf_counter()
            res = engine.reconcile(store, settings, "bench", "argocd", inputs=inputs)
            took = (time.perf_counter() - t) * 1000
            return took, res, inputs.pull_requests, inputs.not_modified

        took, res, reqs, _ = once()
        assert len(res.created) == n, res
        print(f"pull requests {n}: first pass {took:8.1f} ms, {reqs} list request(s), "
              f"{len(res.created)} Applications created")  # fmt: skip
        quiet = [once() for _ in range(repeat)]
        med = statistics.median(q[0] for q in quiet)
        print(f"pull requests {n}: unchanged pass {med:8.1f} ms (median), {quiet[0][2]} "
              f"request(s), {quiet[0][3]} answered 304")  # fmt: skip
        sha = _git(*env_commit, "commit-tree", tree, "-p", base, "-m", "push", cwd=bare)
        _git("update-ref", "refs/heads/feature-0", sha, cwd=bare)
        took, res, reqs, nm = once()
        print(f"pull requests {n}: after a push   {took:8.1f} ms, {reqs} request(s) "
              f"({nm} 304), {len(res.updated)} Application updated")  # fmt: skip
        print(
            "anchor: Argo CD's pull-request generator polls every 30 minutes by default "
            "(requeueAfterSeconds: 1800)"
        )
        cluster.register("mem-bench", None)
        store.close()
        forge.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--apps", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--pulls", type=int, default=50)
    args = ap.parse_args()
    for n in args.apps:
        render_bench(n, args.repeat)
    pulls_bench(args.pulls, args.repeat)


if __name__ == "__main__":
    main()
