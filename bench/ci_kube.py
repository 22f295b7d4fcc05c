"""Per-step overhead of ``--executor kubernetes`` (exec over the API's websocket, against the
Kubernetes API fake whose kubelet is podman) next to ``--executor podman`` (``podman exec``),
same image, same machine: (time of 1+N steps - time of 1 step) / N, and the pod start.

Run: ``.venv/bin/python bench/ci_kube.py [N]`` (needs podman and buildah).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_kube.server import FakeKube
from shipway.ci.runinfo import RunInfo
from shipway.ci.service import run_workflow
from shipway.ci.syntax.github import parse_workflow
from shipway.git.repo import Repo
from shipway.runtime import podman_env

IMAGE = "localhost/ci-busybox:1"


def busybox(env: dict[str, str], tmp: Path) -> None:
    full = {**os.environ, **env}
    if subprocess.run(["podman", "image", "exists", IMAGE], env=full).returncode == 0:
        return
    root = tmp / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")

    def buildah(*args: str) -> str:
        return subprocess.run(["buildah", *args], env=full, check=True, capture_output=True,
                              text=True).stdout.strip()  # fmt: skip

    ctr = buildah("from", "scratch")
    buildah("copy", ctr, str(root), "/")
    buildah("run", "--isolation", "chroot", ctr, "--", "/bin/busybox", "--install", "-s", "/bin")
    buildah("commit", "-q", "--rm", ctr, IMAGE)


def run(tmp: Path, executor: str, steps: int, env: dict[str, str], kube: dict[str, str]) -> float:
    src = tmp / "src"
    if not src.exists():
        repo = Repo.init(src)
        (src / "README").write_text("x\n")
        repo.add_all()
        repo.commit("init")
    commit = Repo(src).head()
    text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n" + "      - run: 'true'\n" * steps
    wf = parse_workflow(text, "ci.yml")
    run_id = f"b{executor[:4]}{steps}-{time.monotonic_ns() % 10**6}"
    info = RunInfo(run_id=run_id, repo=str(src), commit=commit, ref="refs/heads/main",
                   event="push", payload={}, base_dir=tmp / run_id, executor=executor,
                   runner_image=IMAGE, podman_env=env, kube=kube)  # fmt: skip
    start = time.perf_counter()
    record = run_workflow(None, wf, info)
    took = time.perf_counter() - start
    assert record["conclusion"] == "success", record
    return took


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = podman_env.podman_env(tmp / "podman")
        busybox(env, tmp)
        fake = FakeKube(podman_env=env)
        try:
            kube = {"server": fake.url}
            for executor in ("podman", "kubernetes"):
                one = min(run(tmp, executor, 1, env, kube) for _ in range(2))
                many = run(tmp, executor, 1 + n, env, kube)
                print(
                    f"{executor:10} job with 1 step {one:6.2f} s; per extra step "
                    f"{1000 * (many - one) / n:6.1f} ms ({n} steps)"
                )
        finally:
            fake.close()


if __name__ == "__main__":
    main()
