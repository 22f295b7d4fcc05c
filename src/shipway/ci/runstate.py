"""State shared by every job of one run: masking, the log, cancellation, annotations.

Thread-safe: jobs may run in parallel. The log kept here is already masked;
it is what gets stored with the run record.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci.commands import Masker
from shipway.ci.plan.model import Workflow
from shipway.ci.runinfo import RunInfo
from shipway.runtime.host import Cancel
from shipway.settings import load as load_settings


class RunState:
    def __init__(
        self,
        info: RunInfo,
        workflow: Workflow,
        inputs: dict[str, Any] | None = None,
        masker: Masker | None = None,
        lines: list[str] | None = None,
        cancel: Cancel | None = None,
        annotations: list[dict[str, Any]] | None = None,
    ) -> None:
        self.info = info
        self.workflow = workflow
        self.inputs: dict[str, Any] = inputs or {}
        self.masker = masker or Masker()
        for value in info.secrets.values():
            self.masker.add(value)
        self.secrets_ctx: dict[str, Any] = {"GITHUB_TOKEN": "", **info.secrets}
        self.lines = lines if lines is not None else []
        debug = info.secrets.get("ACTIONS_STEP_DEBUG") or info.vars.get("ACTIONS_STEP_DEBUG")
        self.step_debug = str(debug).lower() == "true"  # ::debug:: lines are shown only then
        self.cancel = cancel or info.cancel or Cancel()
        self.annotations: list[dict[str, Any]] = annotations if annotations is not None else []
        self._lock = threading.Lock()
        self.base_env = host_env({**os.environ, **info.env}, info.base_dir / "host-bin")

    def emit(self, job: str, step: str, line: str) -> None:
        where = f"{job} / {step}" if step else job
        text = self.masker.mask(f"[{where}] {line}")
        with self._lock:
            self.lines.append(text)
            if self.info.on_line is not None:
                self.info.on_line(text)

    def for_job(self, token: str) -> RunState:
        """This state for one job: the same log, masker and cancel; the job's own GITHUB_TOKEN."""
        job_rs = copy.copy(self)
        job_rs.secrets_ctx = {**self.secrets_ctx, "GITHUB_TOKEN": token}
        return job_rs

    def mask_deep(self, value: Any) -> Any:
        """``value`` with every secret masked in every string (keys included)."""
        return self.masker.mask_deep(value)

    def mask_record(self, value: Any) -> Any:
        """A run record or state with its user text masked, its computed fields untouched."""
        return self.masker.mask_record(value)

    def annotate(self, level: str, message: str, props: dict[str, str], job: str) -> None:
        with self._lock:
            self.annotations.append(
                {
                    "level": level,
                    "message": self.masker.mask(message),
                    "job": job,
                    **{k: self.masker.mask(v) for k, v in props.items()},
                }
            )

    def hash_files(self, workspace: Path) -> Callable[[list[str]], str]:
        def compute(patterns: list[str]) -> str:
            return hash_files(workspace, patterns)

        return compute


# variables naming the host's own writable places (caches, prefixes, environments): a job
# gets its own (job.process_env) or none
_HOST_PLACES = ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "PYTHONUSERBASE", "PYTHONHOME",
                "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
                "PIP_TARGET", "PIP_PREFIX", "PIP_USER", "PIP_CACHE_DIR", "CARGO_TARGET_DIR",
                "GOPATH", "GOCACHE", "GOMODCACHE", "TMPDIR", "TMP", "TEMP")  # fmt: skip
_VENV_TOOLS = ("python", "pip", "easy_install", "uv", "activate", "deactivate")


def host_env(env: dict[str, str], shim_dir: Path) -> dict[str, str]:
    """The host environment a host job starts from, with nothing that writes the host's.

    Runner variables (``GITHUB_*``, ``RUNNER_*``, ``CI``), the host's writable places
    (``VIRTUAL_ENV``, ``XDG_*_HOME``, ``npm_config_*``, ``PIP_*``, ``UV_*`` ...) go;
    ``PYENV_ROOT`` and ``RUSTUP_HOME`` stay pinned to the host's (read-only toolchain
    stores that its shims need once ``HOME`` is the job's), ``SHIPWAY_HOME`` to shipway's.
    A virtualenv's ``bin`` on ``PATH`` (shipway's own, an activated one) is replaced by
    links to its commands without its interpreter and installers, so no step can
    ``pip install`` into it.
    """
    home = env.get("HOME") or os.path.expanduser("~")
    out = {k: v for k, v in env.items()
           if not k.startswith(("GITHUB_", "RUNNER_", "UV_", "npm_config_", "NPM_CONFIG_"))
           and k not in _HOST_PLACES and k != "CI"}  # fmt: skip
    for name, default in (("PYENV_ROOT", ".pyenv"), ("RUSTUP_HOME", ".rustup")):
        if name not in out and os.path.isdir(os.path.join(home, default)):
            out[name] = os.path.join(home, default)
    if "SHIPWAY_HOME" not in out:  # a step's `shipway` uses this shipway's state, not HOME's
        out["SHIPWAY_HOME"] = str(load_settings().home)
    parts = []
    for directory in out.get("PATH", os.defpath).split(os.pathsep):
        venv = Path(directory).parent
        if directory and (venv / "pyvenv.cfg").is_file():
            parts.append(str(_venv_commands(Path(directory), shim_dir / venv.name)))
        else:
            parts.append(directory)
    out["PATH"] = os.pathsep.join(parts)
    return out


def _venv_commands(bin_dir: Path, target: Path) -> Path:
    """Links to a virtualenv's commands, without its interpreter and installers."""
    if target.is_dir():
        return target
    tmp = target.with_name(f".{target.name}-{os.getpid()}-{threading.get_ident()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for entry in bin_dir.iterdir():
        if entry.name.startswith(_VENV_TOOLS) or not entry.is_file():
            continue
        (tmp / entry.name).symlink_to(entry)
    try:
        tmp.rename(target)
    except OSError:  # another thread made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def hash_files(workspace: Path, patterns: list[str]) -> str:
    """GitHub's ``hashFiles``: sha256 over the sha256 of each matching file, or ''."""
    include: set[str] = set()
    for pattern in patterns:
        for pat in pattern.splitlines():
            pat = pat.strip()
            if not pat:
                continue
            negate = pat.startswith("!")
            body = pat[1:] if negate else pat
            hits = set(glob.glob(str(workspace / body), recursive=True))
            include = include - hits if negate else include | hits
    total = hashlib.sha256()
    found = False
    for path in sorted(include):
        if os.path.isfile(path):
            found = True
            with open(path, "rb") as fh:
                total.update(hashlib.sha256(fh.read()).digest())
    return total.hexdigest() if found else ""
