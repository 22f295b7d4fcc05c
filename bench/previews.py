"""Benchmark previews: pull request opened to preview URL posted, and closed to torn down.

Real servers here: a CNCF registry, a git daemon, podman, and the in-process forge
fake (GitHub's shapes). A source repository with a ``pull_request`` workflow that
builds the head's busybox httpd image with buildah and pushes it; a config
repository; a preview ApplicationSet (``shipway.dev/previews: "true"``). Through the
controller's HTTP app: the ``opened`` webhook → CI (checkout, build, push) →
deploy on podman → ``shipway/preview`` success status with the URL; then the
``closed`` webhook → Applications, pods and ports gone. One warm-up round (base
layers, first pod), then ``--repeat`` rounds, each a new pull request with a new
head (so a new image is built). Targets: opened → URL < 15 s warm; closed →
torn down < 5 s. Each round prints wall and CPU time (this process and the
children it waited for: git, buildah, podman clients; not conmon or the
containers) and when the preview reached each phase (Building, Deploying,
Ready), since the machine is shared. Anchor: Argo CD's pull-request generator
polls every 30 minutes by default (``requeueAfterSeconds: 1800``), so without a
webhook a preview can wait half an hour to be noticed.

Run: ``.venv/bin/python bench/previews.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import importlib.util
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
SECRET = "bench-secret"


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _wait(fn: Any, timeout: float, seen: Any = None) -> Any:
    """Poll ``fn`` until it gives something; ``seen()`` is called on each turn (phases)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if seen is not None:
            seen()
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    sys.exit("timed out")


def _cpu() -> float:
    """CPU seconds of this process and the children it has waited for (git, buildah,
    podman clients); conmon and the containers themselves are not counted."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shipway-bench-previews-"))
    os.environ["SHIPWAY_HOME"] = str(tmp / "home")
    sys.path.insert(0, str(ROOT / "tests"))
    from shipway.runtime import podman_env, services

    run_dir = tmp / "run"
    reg = services.registry(run_dir, tmp / "registry")
    git = services.git_daemon(run_dir, tmp / "git")
    host = f"127.0.0.1:{reg.port}"
    os.environ["SHIPWAY_INSECURE_REGISTRIES"] = host
    world = None
    try:
        world = _bench(tmp, host, git.port, podman_env.podman_env(tmp / "podman", [host]),
                       args.repeat)  # fmt: skip
    finally:
        if world is not None:
            from shipway.deploy import engine

            engine.local_target(world.settings).clean()
        services.stop(run_dir, "registry")
        services.stop(run_dir, "git-daemon")
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, host: str, git_port: int, podman: dict[str, str], repeat: int) -> Any:
    root_conf = _load("shipway_tests_conftest", ROOT / "tests" / "conftest.py")
    conf = _load("shipway_previews_conftest", ROOT / "tests/integration/previews/conftest.py")
    flow = _load(
        "shipway_previews_ctl", ROOT / "tests/integration/previews/test_preview_controller.py"
    )
    from fastapi.testclient import TestClient

    from forge_server import TOKEN, ForgeServer
    from shipway.auth import accounts
    from shipway.controller.core import Controller
    from shipway.model.preview import preview_name
    from shipway.model.resources import parse_text
    from shipway.server.app import create_app
    from shipway.settings import Settings
    from shipway.store import previews as store_previews
    from shipway.store import resources as resource_store

    os.environ["SHIPWAY_FORGE_TOKEN"] = TOKEN
    forge = ForgeServer()
    (tmp / "git").mkdir(exist_ok=True)
    git = root_conf.GitServer(base=tmp / "git", port=git_port)
    w = conf.make_world("github", forge, git, type("R", (), {"host": host})(), podman, tmp / "w")
    (w.source.path / ".github" / "workflows").mkdir(parents=True)
    (w.source.path / ".github" / "workflows" / "pr.yml").write_text(flow.WORKFLOW)
    (w.source.path / "build.sh").write_text(flow.BUILD)
    w.source.add_all()
    w.source.commit("ci")
    w.source.push("origin", "HEAD:refs/heads/main")
    url = w.source.run("remote", "get-url", "origin").strip()
    pipeline = f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: web}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}
  vars: {{REGISTRY: "{host}"}}
  forge: {{kind: github, apiURL: "{forge.api("github")}", project: "{w.project}"}}
"""
    resource_store.apply(w.store, parse_text(pipeline, "pipeline.yaml"))
    w.appset()
    settings = Settings(home=w.settings.home, webhook_secret=SECRET,
                        controller_url="http://controller.bench")  # fmt: skip
    controller = Controller(settings, w.store, health_timeout=60)
    env = {"PATH": "/usr/bin:/bin", **podman}
    controller.ci.step_env = lambda pipe: env  # type: ignore[method-assign]
    controller.start_workers()
    _rec, token = accounts.issue_token(
        w.store, accounts.create(w.store, "bench", None, role="readonly").name
    )
    client = TestClient(create_app(controller), headers={"Authorization": f"Bearer {token}"})

    def post(payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sig}
        client.post("/hooks/forge", content=body, headers=headers)

    def posted(sha: str) -> str:
        for s in reversed(forge.statuses_of("github", w.project, sha)):
            if s.get("context") == "shipway/preview" and s["state"] in ("success", "failure"):
                return str(s["state"])
        return ""

    opened: list[float] = []
    closed: list[float] = []
    cpus: list[tuple[float, float]] = []
    try:
        for i in range(repeat + 1):
            branch = f"feature-{i}"
            sha = w.push_branch(branch, f"round {i}")
            number = w.open_pull(branch)
            name = preview_name("web-previews", number)
            phases: dict[str, float] = {}

            def seen(name: str = name, phases: dict[str, float] = phases) -> None:
                p = store_previews.get(w.store, name)
                if p is not None and p.phase not in phases:
                    phases[p.phase] = time.monotonic()

            t0, c0 = time.monotonic(), _cpu()
            post(flow._pr(url, "opened", number, branch, sha))
            state = _wait(lambda sha=sha: posted(sha), 120, seen)
            took, cpu_open = time.monotonic() - t0, _cpu() - c0
            if state != "success":
                p = store_previews.get(w.store, preview_name("web-previews", number))
                sys.exit(f"preview failed: {p.message if p else '?'}")
            forge.set_pull("github", w.project, number, state="closed")
            t1, c1 = time.monotonic(), _cpu()
            post(flow._pr(url, "closed", number, branch, sha))
            _wait(lambda name=name: store_previews.get(w.store, name) is None, 60)
            down, cpu_down = time.monotonic() - t1, _cpu() - c1
            label = "warm-up" if i == 0 else f"round {i}"
            marks = " ".join(f"{k} +{v - t0:.2f}" for k, v in phases.items())
            print(f"{label}: opened -> URL posted {took:.2f} s wall, {cpu_open:.2f} s CPU "
                  f"[{marks}]; closed -> torn down {down:.2f} s wall, "
                  f"{cpu_down:.2f} s CPU")  # fmt: skip
            if i:
                opened.append(took)
                closed.append(down)
                cpus.append((cpu_open, cpu_down))
    finally:
        controller.wait_idle(60)
        controller.shutdown()
        forge.stop()
    med = statistics.median
    print(f"opened -> URL posted (CI build + deploy), median of {repeat}: "
          f"{med(opened):.2f} s (best {min(opened):.2f} s; target < 15 s)")  # fmt: skip
    print(f"closed -> torn down, median of {repeat}: {med(closed):.2f} s "
          f"(best {min(closed):.2f} s; target < 5 s)")  # fmt: skip
    print(f"CPU (this process and its waited children), median: opened "
          f"{med(c for c, _ in cpus):.2f} s, closed {med(d for _, d in cpus):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print("anchor: Argo CD's pull-request generator polls every 1800 s by default")
    return w


if __name__ == "__main__":
    main()
