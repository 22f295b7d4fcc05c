"""actions/checkout of other repositories from the git source: a real git daemon and git smart HTTP.

The smart HTTP server is ``git http-backend`` behind a small WSGI server in this
file; its ``private/`` repositories need the token as GitHub's checkout sends it.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from upstream_repo import Upstream

from shipway.git.repo import Repo

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


def uniq(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


def test_checkout_other_repo_tag_full_history_and_default_branch(
    run_wf: Runner, upstream: Callable[[str], Upstream], git_server: Any
) -> None:
    name = uniq("lib")
    lib = upstream(f"acme/{name}")
    first = lib.commit({"VERSION": "1\n"})
    lib.commit({"VERSION": "2\n"}, tag="v2.0")
    head = lib.commit({"VERSION": "3\n"}, tag="v3.0")
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
              - id: tagged
                uses: actions/checkout@v4
                with: {{repository: acme/{name}, ref: v2.0, path: lib, fetch-depth: 0}}
              - id: tip
                uses: actions/checkout@v4
                with: {{repository: acme/{name}, path: lib-main}}
              - uses: actions/checkout@v4
                with: {{repository: acme/{name}, ref: {first}, path: lib-first}}
              - run: |
                  echo "own=$(cat README)"
                  echo "tagged=$(cat lib/VERSION) count=$(git -C lib rev-list --count HEAD)"
                  echo "tags=$(git -C lib tag | tr '\\n' ,)"
                  echo "tip=$(cat lib-main/VERSION) count=$(git -C lib-main rev-list --count HEAD)"
                  echo "branch=$(git -C lib-main rev-parse --abbrev-ref HEAD)"
                  echo "first=$(cat lib-first/VERSION)"
              - run: echo "outs $REF $SHA"
                env:
                  REF: ${{{{ steps.tagged.outputs.ref }}}}
                  SHA: ${{{{ steps.tip.outputs.commit }}}}
        """,
        git_url=f"git://127.0.0.1:{git_server.port}",
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "own=hello" in text
    assert "tagged=2 count=2" in text
    assert "tags=v2.0,v3.0," in text
    assert "tip=3 count=1" in text
    assert "branch=main" in text
    assert "first=1" in text
    assert f"outs v2.0 {head}" in text


def test_checkout_submodules_recursive(
    run_wf: Runner, upstream: Callable[[str], Upstream], git_server: Any
) -> None:
    sub_name, app_name = uniq("sub"), uniq("app")
    sub = upstream(f"acme/{sub_name}")
    sub.commit({"inner.txt": "from the submodule\n"})
    app = upstream(f"acme/{app_name}")
    app.commit({"main.txt": "app\n"})
    app.repo.run("submodule", "add", "-q", f"../{sub_name}", "vendor/sub")
    app.repo.run("commit", "-q", "-m", "add submodule")
    app.repo.run("push", "-q", app.url, "HEAD:refs/heads/main")
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
                with: {{repository: acme/{app_name}, path: app, submodules: recursive}}
              - run: cat app/vendor/sub/inner.txt
        """,
        git_url=f"git://127.0.0.1:{git_server.port}/",
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "from the submodule" in text


@pytest.mark.parametrize(
    ("with_", "git_url", "message"),
    [
        (
            "{repository: acme/no-such-repo}",
            True,
            "::error::actions/checkout: repository acme/no-such-repo not found at <BASE> (",
        ),
        (
            "{repository: acme/<REPO>, ref: no-such-ref}",
            True,
            "::error::actions/checkout: ref 'no-such-ref' not found in repository acme/<REPO>",
        ),
        (
            "{repository: acme/<REPO>}",
            False,
            "::error::actions/checkout: repository 'acme/<REPO>' is not this run's repository "
            "and no git source is set to fetch it from (set SHIPWAY_GIT_URL or "
            "`shipway ci run --git-url URL`)",
        ),
        (
            "{repository: acme/<REPO>, fetch-depth: lots}",
            True,
            "::error::actions/checkout: fetch-depth 'lots' is not a number",
        ),
    ],
)
def test_checkout_errors_name_repo_and_ref(
    run_wf: Runner,
    upstream: Callable[[str], Upstream],
    git_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    with_: str,
    git_url: bool,
    message: str,
) -> None:
    monkeypatch.delenv("SHIPWAY_GIT_URL", raising=False)
    name = uniq("err")
    upstream(f"acme/{name}").commit({"a": "1"})
    base = f"git://127.0.0.1:{git_server.port}"
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
                with: {with_.replace("<REPO>", name)}
        """,
        git_url=base if git_url else "",
    )
    assert record["conclusion"] == "failure"
    expected = message.replace("<REPO>", name).replace("<BASE>", base)
    assert any(expected in ln for ln in lines), "\n".join(lines)


# -- smart HTTP with a token ----------------------------------------------------------------


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _backend(root: Path, token: str, seen: list[str]) -> Callable[..., Iterable[bytes]]:
    expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        seen.append(auth)
        wrong = auth.lower() != expected.lower()
        if (auth or path.startswith("/private/")) and wrong:  # a forge refuses bad tokens
            start("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"token required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi = {
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": str(environ.get("QUERY_STRING", "")),
            "REQUEST_METHOD": str(environ["REQUEST_METHOD"]),
            "CONTENT_TYPE": str(environ.get("CONTENT_TYPE", "")),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_PROTOCOL": str(environ.get("HTTP_GIT_PROTOCOL", "")),
            "HTTP_CONTENT_ENCODING": str(environ.get("HTTP_CONTENT_ENCODING", "")),
            "PATH": os.environ["PATH"],
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=cgi, capture_output=True,
                             check=False).stdout  # fmt: skip
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = value
            elif key:
                headers.append((key, value))
        start(status, headers)
        return [payload]

    return app


@pytest.fixture
def http_git(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    root = tmp_path / "http-repos"
    root.mkdir()
    seen: list[str] = []
    server = make_server("127.0.0.1", 0, _backend(root, "tok-123", seen), _Threading, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", root, seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _served(root: Path, name: str, work: Path) -> Upstream:
    """Repository ``name`` (``owner/repo``) served by ``http_git`` from ``root``, its default
    branch ``main``; commits are made in ``work`` and pushed to it."""
    bare = Repo.init(root / f"{name}.git", bare=True)
    bare.run("symbolic-ref", "HEAD", "refs/heads/main")
    return Upstream(work, str(bare.path))


def test_checkout_private_http_repo_with_token(
    run_wf: Runner, tmp_path: Path, http_git: tuple[str, Path, list[str]]
) -> None:
    base, root, seen = http_git
    _served(root, "private/secret-lib", tmp_path / "secret-work").commit(
        {"data.txt": "private data\n"}
    )
    workflow = """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
                with: {repository: private/secret-lib, path: lib, token: TOKEN,
                       persist-credentials: false}
              - run: cat lib/data.txt; git -C lib config --get-regexp extraheader || echo no-header
        """
    record, lines = run_wf(workflow.replace("TOKEN", "tok-123"), git_url=base)
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "private data" in text and "no-header" in text
    assert (
        "tok-123" not in text and base64.b64encode(b"x-access-token:tok-123").decode() not in text
    )
    assert any(s.lower().startswith("basic ") for s in seen)
    persisted, lines = run_wf(
        workflow.replace("TOKEN", "tok-123").replace("persist-credentials: false", "clean: true"),
        git_url=base,
    )
    text = "\n".join(lines)
    assert persisted["conclusion"] == "success", text
    assert f"http.{base}/.extraheader AUTHORIZATION: basic ***" in text
    _served(root, "acme/open-lib", tmp_path / "open-work").commit({"data.txt": "open data\n"})
    anonymous, lines = run_wf(
        workflow.replace("private/secret-lib", "acme/open-lib").replace("TOKEN", "bogus"),
        git_url=base,
    )
    assert anonymous["conclusion"] == "success", "\n".join(lines)  # the token is dropped
    denied, lines = run_wf(workflow.replace("TOKEN", "wrong"), git_url=base)
    assert denied["conclusion"] == "failure"
    assert any(
        "actions/checkout: repository private/secret-lib not found at " + base in ln for ln in lines
    ), "\n".join(lines)


def test_checkout_sparse_tags_clean_and_lfs(
    run_wf: Runner, upstream: Callable[[str], Upstream], git_server: Any
) -> None:
    name = uniq("opts")
    lib = upstream(f"acme/{name}")
    lib.commit({"docs/a.md": "doc\n", "src/main.py": "code\n", "top.txt": "top\n"}, tag="v1")
    lfs_step = (
        f"      - uses: actions/checkout@v4\n"
        f"        with: {{repository: acme/{name}, path: big, lfs: true}}\n"
    )
    record, lines = run_wf(
        f"""
on: push
jobs:
  a:
    runs-on: x
    steps:
      - uses: actions/checkout@v4
        with: {{repository: acme/{name}, path: sparse, sparse-checkout: docs}}
      - uses: actions/checkout@v4
        with: {{repository: acme/{name}, path: tagged, fetch-tags: true}}
      - run: |
          echo "sparse=$(ls sparse | tr '\\n' ,)"
          echo "tags=$(git -C tagged tag)"
          touch tagged/untracked kept-marker
      - uses: actions/checkout@v4
        with: {{repository: acme/{name}, path: tagged, clean: false}}
      - run: echo "after-noclean=$(ls tagged/untracked)"
      - uses: actions/checkout@v4
        with: {{repository: acme/{name}, path: tagged}}
      - run: echo "after-clean=$(ls tagged/untracked 2>/dev/null || echo gone)"
"""
        + lfs_step,
        git_url=f"git://127.0.0.1:{git_server.port}",
    )
    text = "\n".join(lines)
    assert "sparse=docs,top.txt," in text, text  # cone mode keeps top-level files
    assert "tags=v1" in text
    assert "after-noclean=tagged/untracked" in text
    assert "after-clean=gone" in text
    if shutil.which("git-lfs") is None:
        assert record["conclusion"] == "failure"
        assert (
            f"::error::actions/checkout: acme/{name}@main: lfs: true needs git-lfs, "
            "which is not installed" in text
        )
    else:
        assert record["conclusion"] == "success", text


def test_cli_git_url_option(
    upstream: Callable[[str], Upstream],
    git_server: Any,
    new_repo: Any,
    tmp_path: Path,
    shipway_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from click.testing import CliRunner

    from shipway.cli.main import cli

    name = uniq("clidep")
    upstream(f"acme/{name}").commit({"dep.txt": "dependency\n"})
    src = tmp_path / "cli-src"
    workflow = f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
                with: {{repository: acme/{name}, path: dep}}
              - run: cat dep/dep.txt
        """
    new_repo(src, {".github/workflows/ci.yml": workflow})
    monkeypatch.chdir(src)
    monkeypatch.delenv("SHIPWAY_GIT_URL", raising=False)
    base = f"git://127.0.0.1:{git_server.port}"
    result = CliRunner().invoke(cli, ["ci", "run", "--git-url", base, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["conclusion"] == "success"
    assert "dependency" in result.stderr
    monkeypatch.setenv("SHIPWAY_GIT_URL", base)
    assert CliRunner().invoke(cli, ["ci", "run"]).exit_code == 0
    monkeypatch.delenv("SHIPWAY_GIT_URL")
    failed = CliRunner().invoke(cli, ["ci", "run"])
    assert failed.exit_code == 1
    assert "no git source is set" in failed.stderr


def test_private_remote_action_over_http_with_github_token(
    run_wf: Runner, tmp_path: Path, http_git: tuple[str, Path, list[str]]
) -> None:
    base, root, _seen = http_git
    action = "name: Tool\nruns:\n  using: composite\n  steps:\n"
    action += "    - {shell: sh, run: echo private-tool-ran}\n"
    _served(root, "private/tool", tmp_path / "tool-work").commit({"action.yml": action}, tag="v1")
    workflow = "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: private/tool@v1}]\n"
    record, lines = run_wf(
        workflow,
        secrets={"GITHUB_TOKEN": "tok-123"},
        git_url=base,
        action_cache=tmp_path / "actions",
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    assert any("private-tool-ran" in ln for ln in lines)
    record, lines = run_wf(
        workflow, secrets={"GITHUB_TOKEN": "nope"}, git_url=base, action_cache=tmp_path / "a2"
    )
    assert record["conclusion"] == "failure"
    assert any(
        f"action 'private/tool@v1' is not available: repository private/tool not found at {base}"
        in ln
        for ln in lines
    ), "\n".join(lines)
