"""The executor interface (``ci.exec.base``) on the host and on real podman: sessions,
steps (argv, script, own image), services by alias, timeouts, cancel and cleanup."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from shipway.ci.exec.base import (
    Cancel,
    ExecutorConfig,
    Mount,
    Service,
    SessionSpec,
    StepSpec,
    open_session,
)
from shipway.model.errors import CIError, InputError

pytestmark = pytest.mark.integration


def _names(podman: dict[str, str], prefix: str) -> list[str]:
    env = {**os.environ, **podman}
    ctrs = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], env=env,
                          capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    nets = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"], env=env,
                          capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return [n for n in ctrs + nets if n.startswith(prefix)]


def test_host_steps_argv_script_env_cwd_and_exit_codes(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    lines: list[str] = []
    spec = SessionSpec(run_id="h1", job="a", scratch=str(scratch))
    with open_session("host", spec) as s:
        assert s.cid is None and s.network is None and s.services == {}
        out = s.run(StepSpec(argv=["sh", "-c", 'echo "v=$V"; pwd; echo err >&2; exit 3'],
                             env={"V": "1", "PATH": os.defpath}, cwd=str(tmp_path),
                             on_line=lines.append))  # fmt: skip
        assert (out.exit_code, out.ok, out.timed_out) == (3, False, False)
        assert lines == ["v=1", str(tmp_path), "err"]
        lines.clear()
        out = s.run(StepSpec(script='echo "home=${HOME-unset}"\nfalse\necho not-reached',
                             env={"PATH": os.defpath}, cwd=str(tmp_path),
                             on_line=lines.append))  # fmt: skip
        assert out.exit_code == 1 and lines == ["home=unset"]  # only the env given; sh -e
        assert s.which("sh") and not s.which("no-such-program-here")
        assert s.capture(["sh", "-c", "echo probe"]) == (0, "probe")


def test_host_timeout_and_cancel_kill_the_step(tmp_path: Path) -> None:
    with open_session("host", SessionSpec(run_id="h2", job="a")) as s:
        out = s.run(StepSpec(argv=["sleep", "30"], env={"PATH": os.defpath}, timeout=0.3))
        assert out.timed_out and not out.cancelled and out.exit_code == -1
        cancel = Cancel()
        started = threading.Event()

        def go() -> None:
            started.wait(10)
            cancel.cancel()

        threading.Thread(target=go).start()
        out = s.run(StepSpec(argv=["sh", "-c", "echo up; sleep 30"], env={"PATH": os.defpath},
                             on_line=lambda _l: started.set(), cancel=cancel))  # fmt: skip
        assert out.cancelled and not out.timed_out and not out.ok


def test_unknown_executor_and_script_without_scratch() -> None:
    with pytest.raises(InputError, match="unknown executor 'docker'"):
        open_session("docker", SessionSpec(run_id="x", job="a"))
    with open_session("host", SessionSpec(run_id="x", job="a")) as s, pytest.raises(InputError):
        s.run(StepSpec(script="true"))


def test_podman_job_container_service_alias_and_step_image(
    tmp_path: Path, podman: dict[str, str], busybox_image: str
) -> None:
    ws, www, scratch = tmp_path / "ws", tmp_path / "www", tmp_path / "scratch"
    for d in (ws, www, scratch):
        d.mkdir()
    (www / "index.html").write_text("hello from the service\n")
    said: list[str] = []
    web = Service(name="web", image=busybox_image, aliases=("web", "www.local"),
                  entrypoint=("httpd",), command=("-f", "-p", "80", "-h", "/www"),
                  volumes=(f"{www}:/www:ro",))  # fmt: skip
    spec = SessionSpec(run_id="p1", job="build", mounts=[Mount(str(ws), "/workspace/src")],
                       scratch=str(scratch), workdir="/workspace/src", image=busybox_image,
                       image_env={"IN_JOB": "yes"}, services=[web], log=said.append)  # fmt: skip
    cfg = ExecutorConfig(podman_env=podman)
    with open_session("podman", spec, cfg) as s:
        assert s.cid and s.network == "shipway-ci-p1-build-net"
        assert set(s.services) == {"web"} and s.services["web"].network == s.network
        assert "/bin" in s.path.split(":") and s.which("sh") and not s.which("bash")
        made = sorted(_names(podman, "shipway-ci-p1-build-"))
        assert made == [f"shipway-ci-p1-build-{n}" for n in ("job", "net", "svc-web")]
        lines: list[str] = []
        out = s.run(StepSpec(script="echo in=$IN_JOB pwd=$(pwd)\nwget -qO- http://www.local/\n"
                             "echo made > result.txt", env={"PATH": s.path, "IN_JOB": "yes"},
                             cwd="/workspace/src", on_line=lines.append))  # fmt: skip
        assert out.ok, lines
        assert lines == ["in=yes pwd=/workspace/src", "hello from the service"]
        assert (ws / "result.txt").read_text() == "made\n"  # the mount is shared with the host
        lines.clear()
        out = s.run(StepSpec(argv=["-c", "cat result.txt; wget -qO- http://web/; exit 4"],
                             entrypoint="sh", image=busybox_image, env={"PATH": "/bin"},
                             cwd="/workspace/src", on_line=lines.append))  # fmt: skip
        assert out.exit_code == 4 and lines == ["made", "hello from the service"]
        out = s.run(StepSpec(argv=["sh", "-c", "sleep 30"], env={"PATH": s.path}, timeout=0.5))
        assert out.timed_out
        host_lines: list[str] = []
        out = s.run(StepSpec(argv=["sh", "-c", "echo on-host; test -d " + str(ws)], on_host=True,
                             env={"PATH": os.defpath}, on_line=host_lines.append))  # fmt: skip
        assert out.ok and host_lines == ["on-host"]
    assert said == [f"Starting service web ({busybox_image})",
                    f"Starting job container ({busybox_image})"]  # fmt: skip
    assert _names(podman, "shipway-ci-p1-build") == []  # all removed


def test_host_session_with_a_service_publishes_its_port(
    tmp_path: Path, podman: dict[str, str], busybox_image: str
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("published\n")
    web = Service(name="web", image=busybox_image, ports=("80",), entrypoint=("httpd",),
                  command=("-f", "-p", "80", "-h", "/www"),
                  volumes=(f"{www}:/www:ro",))  # fmt: skip
    spec = SessionSpec(run_id="p2", job="a", services=[web])
    with open_session("host", spec, ExecutorConfig(podman_env=podman)) as s:
        assert s.cid is None and s.network is None
        port = s.services["web"].ports["80"]
        assert port.isdigit() and port != "80"
        lines: list[str] = []
        get = f"busybox wget -qO- http://127.0.0.1:{port}/"
        script = f"for i in 1 2 3 4 5 6 7 8; do {get} && exit; sleep 0.3; done; exit 1"
        out = s.run(StepSpec(argv=["sh", "-c", script], env={"PATH": os.defpath},
                             on_line=lines.append))  # fmt: skip
        assert out.ok and lines == ["published"]
    assert _names(podman, "shipway-ci-p2-a") == []


def test_an_image_that_cannot_be_pulled_is_a_ci_error_and_leaves_nothing(
    tmp_path: Path, podman: dict[str, str]
) -> None:
    spec = SessionSpec(run_id="p3", job="a", image="localhost:1/none/such:tag")
    with pytest.raises(CIError) as err, open_session("podman", spec, ExecutorConfig(podman)):
        pass
    assert "localhost:1/none/such:tag" in err.value.subject
    assert _names(podman, "shipway-ci-p3-a") == []
