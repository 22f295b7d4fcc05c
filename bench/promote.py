"""Benchmark one stage's promotion on the podman host, warm.

A config repository (``base/`` Deployment + ``stages/test`` overlay) on a
local bare repository, a busybox httpd image built with buildah and pushed
to a local registry under two tags, an Argo CD Application on shipway's
podman host. Kargo's quickstart promotion (git-clone, git-clear,
kustomize-set-image, kustomize-build, git-commit, git-push, argocd-update
until Synced and Healthy) runs once to warm up (image pulled, pod made),
then ``--repeat`` times alternating the tag (so each promotion really rolls
the pod). Printed: median and best wall time of a whole promotion, and the
median time of each step. Target: < 3 s for the whole promotion warm.
Kargo's anchor: its default Warehouse interval is 5 minutes, and users
report auto-promotion lagging by about 10 minutes.

Then, with the controller running in this process (its lanes, its
promotion tick and its HTTP hooks on loopback): ``gates`` measures a failed
verification to a finished automatic rollback (the Stage verifies with a
``web`` AnalysisTemplate against the app's own port; Freight with tag v2
fails it; ``autoRollback`` promotes v1 back through the same podman
promotion): time from the failing measurement's end (seen when its
AnalysisRun turns Failed) to the rollback promotion's success. Target < 5 s.
And registry push to Freight: a new tag pushed (skopeo) to a repository a
Warehouse subscribes to, the registry's notification to the controller's
``/hooks/registry``, the Warehouse's discovery, the stored Freight. Target
< 1 s. Kargo's anchor: polling every 5 minutes by default.

Run: ``.venv/bin/python bench/promote.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The app exits on SIGTERM, as a server should: the shell (PID 1) traps it. An untrapped
# SIGTERM is ignored by a container's PID 1 (``exec httpd`` as PID 1), and then every
# rollout waits out the pod's whole terminationGracePeriodSeconds before the new pod can
# take the port, on podman as on Kubernetes.
_CMD = 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["buildah", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"buildah {args[0]}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def build_image(env: dict[str, str], host: str, root: Path) -> str:
    """``<host>/bench-web`` with tags v1 and v2 (a busybox httpd)."""
    (root / "bin").mkdir(parents=True)
    (root / "www").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    repo = f"{host}/bench-web"
    for tag in ("v1", "v2"):
        (root / "www" / "index.html").write_text(tag + "\n")
        c = _buildah(env, "from", "scratch")
        try:
            _buildah(env, "copy", c, str(root), "/")
            _buildah(env, "run", "--isolation", "chroot", c, "--", "/bin/busybox", "--install",
                     "-s", "/bin")  # fmt: skip
            _buildah(env, "config", "--cmd", f"/bin/sh -c '{_CMD}'", c)
            _buildah(env, "commit", "-q", c, f"{repo}:{tag}")
            _buildah(env, "push", "--tls-verify=false", f"{repo}:{tag}", f"docker://{repo}:{tag}")
        finally:
            _buildah(env, "rm", c)
    return repo


def cpu() -> float:
    """CPU seconds used so far: this process (every thread) and its children (git, podman)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shipway-bench-promote-"))
    os.environ["SHIPWAY_HOME"] = str(tmp / "home")
    from shipway.runtime import podman_env, services

    run_dir = tmp / "run"
    reg = services.registry(run_dir, tmp / "registry")
    host = f"127.0.0.1:{reg.port}"
    os.environ["SHIPWAY_INSECURE_REGISTRIES"] = host
    target = None
    try:
        image = build_image(podman_env.podman_env(tmp / "buildah", [host]), host, tmp / "rootfs")
        target = _bench(tmp, image, args.repeat)
    finally:
        if target is not None:
            target.clean()
        services.stop(run_dir, "registry")
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: Path, image: str, repeat: int) -> Any:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration" / "promote"))
    sys.path.insert(0, str(Path(__file__).parent))
    import promote_helpers as ph

    from shipway.deploy import engine
    from shipway.git.repo import Repo
    from shipway.promote import runner
    from shipway.runtime.ports import free_port
    from shipway.settings import Settings
    from shipway.store import resources as store_resources
    from shipway.store.db import open_store

    settings = Settings()
    store = open_store(settings)
    target = engine.local_target(settings)
    bare = Repo.init(tmp / "cfg.git", bare=True)
    bare.run("symbolic-ref", "HEAD", "refs/heads/main")
    url = str(bare.path)
    ph.IMAGE = image
    ph.seed_config_repo(url, tmp / "seed")
    port = free_port()
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                    "ports": [{"port": port, "targetPort": 8080}]}}  # fmt: skip
    seed = Repo(tmp / "seed")
    ph.write(seed.path, "base/service.yaml", svc)
    ph.write(
        seed.path, "base/kustomization.yaml", {"resources": ["deployment.yaml", "service.yaml"]}
    )
    seed.add_all()
    seed.commit("service")
    seed.push("origin", "HEAD:refs/heads/main")
    store_resources.apply(store, [ph.application(url, "local")])

    times: list[float] = []
    cpus: list[float] = []
    per_step: dict[str, list[float]] = {}
    for i in range(repeat + 1):
        tag = "v2" if i % 2 else "v1"
        marks: list[tuple[str, float]] = []

        def progress(ev: dict[str, Any], marks: list[tuple[str, float]] = marks) -> None:
            if "step" in ev and ev.get("status") != "Running":
                marks.append((f"{ev['step']} ({ev['uses']})", time.monotonic()))

        key = runner.create(store, project="demo", name=f"bench-{i}", stage="test",
                            freight=ph.freight(tag, name=f"f{i:011d}"),
                            steps=ph.quickstart_steps(url))  # fmt: skip
        t0, c0 = time.monotonic(), cpu()
        status = runner.run(store, settings, key, on_progress=progress)
        took, used = time.monotonic() - t0, cpu() - c0
        if status["phase"] != "Succeeded":
            sys.exit(f"promotion {i} {status['phase']}: {status.get('message')}")
        if i == 0:
            print(f"cold promotion (image pull, pod created): {took:.2f} s")
            continue
        times.append(took)
        cpus.append(used)
        last = t0
        for name, at in marks:
            per_step.setdefault(name, []).append(at - last)
            last = at
    print(f"warm promotion, {repeat} runs: median {statistics.median(times):.2f} s, "
          f"best {min(times):.2f} s (target < 3 s); CPU median {statistics.median(cpus):.2f} s "
          "(shipway and its git/podman children; wall above CPU is waiting, e.g. on a loaded "
          "machine)")  # fmt: skip
    for name, values in per_step.items():
        print(f"  {name:40s} median {statistics.median(values) * 1000:7.0f} ms")
    import bench_gates

    bench_gates.run(tmp, store, settings, url, port, image, max(1, repeat // 2))
    store.close()
    return target


if __name__ == "__main__":
    main()
