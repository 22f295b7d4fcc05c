"""The ``shell:`` of a ``run`` step: the command line and script file extension. Pure."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable

from shipway.model.errors import InputError

_SHELLS: dict[str, tuple[str, str]] = {
    "bash": ("bash --noprofile --norc -eo pipefail {0}", ".sh"),
    "sh": ("sh -e {0}", ".sh"),
    "python": ("python {0}", ".py"),
    "pwsh": ("pwsh -command \". '{0}'\"", ".ps1"),
    "powershell": ("pwsh -command \". '{0}'\"", ".ps1"),
}


def resolve(
    shell: str | None, path_env: str | None, which: Callable[[str], bool] | None = None
) -> tuple[list[str], str]:
    """Return the argv template (with ``{0}``) and the script file's extension.

    ``which`` answers whether a program exists where the step runs (a job
    container); by default the host's ``PATH`` is searched.
    """
    if which is None:
        which = lambda name: shutil.which(name, path=path_env) is not None  # noqa: E731
    if shell is None or shell == "":
        # GitHub: unspecified on Linux is `bash -e {0}`, falling back to `sh -e {0}`.
        if which("bash"):
            return ["bash", "-e", "{0}"], ".sh"
        return ["sh", "-e", "{0}"], ".sh"
    if shell in _SHELLS:
        template, ext = _SHELLS[shell]
        argv = shlex.split(template)
        if shell == "python" and not which("python"):
            argv[0] = "python3"
        return argv, ext
    if "{0}" not in shell:
        raise InputError(
            f"unknown shell {shell!r}: use bash, sh, python, pwsh or a command with {{0}}"
        )
    argv = shlex.split(shell)
    ext = ".py" if argv and argv[0].startswith("python") else ".sh"
    return argv, ext
