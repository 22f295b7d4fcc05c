"""Remote actions and reusable workflows fetched from the git source (a real git daemon) on a miss.

Also JavaScript actions in a job container (real podman): the image's node, the
host's node mounted in, or a clear error when neither runs.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from ci_images import run_buildah
from upstream_repo import Upstream

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


@pytest.fixture
def source(git_server: Any) -> str:
    return f"git://127.0.0.1:{git_server.port}"


def uniq(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


def greet_action(word: str) -> str:
    return f"""\
name: Greet
inputs: {{who: {{default: nobody}}}}
outputs: {{said: {{value: "${{{{ steps.s.outputs.said }}}}"}}}}
runs:
  using: composite
  steps:
    - id: s
      shell: sh
      run: |
        echo "greet {word} ${{{{ inputs.who }}}}"
        echo "said={word}-${{{{ inputs.who }}}}" >> "$GITHUB_OUTPUT"
"""


JS_ACTION = """\
name: Js
inputs: {who: {default: nobody}}
runs: {using: node20, main: main.js}
"""


def js_main(version: str) -> str:
    return (
        'const fs = require("fs");\n'
        f"console.log(`js main {version} for ${{process.env.INPUT_WHO}}`);\n"
        'console.log(`in-box=${fs.existsSync("/__e/node")}`);\n'
        f'fs.appendFileSync(process.env.GITHUB_OUTPUT, "v={version}\\n");\n'
    )


USES_BOTH = """
on: push
jobs:
  a:
    runs-on: x
    steps:
      - id: g
        uses: acme/GREET@v1
        with: {who: ada}
      - id: js
        uses: acme/JSACT/js@main
        with: {who: bob}
      - run: echo "outs ${{ steps.g.outputs.said }} ${{ steps.js.outputs.v }}"
"""


def test_remote_actions_fetched_on_miss_cached_and_branch_re_resolved(
    run_wf: Runner, upstream: Callable[[str], Upstream], source: str, tmp_path: Path
) -> None:
    greet_name, js_name = uniq("greet"), uniq("jsact")
    greet = upstream(f"acme/{greet_name}")
    greet.commit({"action.yml": greet_action("one")}, tag="v1")
    js = upstream(f"acme/{js_name}")
    sha1 = js.commit({"js/action.yml": JS_ACTION, "js/main.js": js_main("first")})
    cache = tmp_path / "actions"
    workflow = USES_BOTH.replace("GREET", greet_name).replace("JSACT", js_name)
    record, lines = run_wf(workflow, action_cache=cache, git_url=source)
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "greet one ada" in text and "js main first for bob" in text
    assert "outs one-ada first" in text and "in-box=false" in text
    owner = cache / "acme"
    entry = owner / f"{greet_name}@v1"
    assert entry.is_dir() and not entry.is_symlink()
    assert sorted(p.name for p in entry.iterdir()) == ["action.yml"]  # the files, no .git
    link = owner / f"{js_name}@main"
    assert link.is_symlink() and os.readlink(link) == f"{js_name}@{sha1}"
    assert (owner / f"{js_name}@{sha1}" / "js" / "main.js").read_text() == js_main("first")
    assert not [p for p in owner.iterdir() if p.name.startswith((".tmp-", ".link-"))]

    # the tag moves and the branch gets a commit: the tag stays cached, the branch is re-resolved
    greet.commit({"action.yml": greet_action("two")}, tag="v1")
    sha2 = js.commit({"js/main.js": js_main("second")})
    record, lines = run_wf(workflow, action_cache=cache, git_url=source)
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "greet one ada" in text and "js main second for bob" in text
    assert os.readlink(link) == f"{js_name}@{sha2}"
    assert (owner / f"{js_name}@{sha1}").is_dir()  # a run still using it keeps it


def test_concurrent_jobs_fetch_one_action_once(
    run_wf: Runner, upstream: Callable[[str], Upstream], source: str, tmp_path: Path
) -> None:
    name = uniq("shared")
    upstream(f"acme/{name}").commit({"action.yml": greet_action("shared")}, tag="v1")
    cache = tmp_path / "actions"
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            strategy: {{matrix: {{n: [1, 2, 3, 4]}}}}
            steps:
              - uses: acme/{name}@v1
                with: {{who: "${{{{ matrix.n }}}}"}}
        """,
        action_cache=cache,
        git_url=source,
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert all(f"greet shared {n}" in text for n in (1, 2, 3, 4))
    assert text.count(f"Download action repository 'acme/{name}@v1'") == 1
    assert sorted(p.name for p in (cache / "acme").iterdir()) == [f".{name}@v1.lock", f"{name}@v1"]


@pytest.mark.parametrize(
    ("uses", "git_url", "reason"),
    [
        ("acme/no-such-action@v1", True, "repository acme/no-such-action not found at <BASE> ("),
        ("acme/<REPO>@v9", True, "ref 'v9' not found in repository acme/<REPO>"),
        (
            "acme/<REPO>@v1",
            False,
            "no git source is set to fetch acme/<REPO> from (set SHIPWAY_GIT_URL or "
            "`shipway ci run --git-url URL`)",
        ),
        ("acme/<REPO>/missing@v1", True, None),
    ],
)
def test_remote_action_errors(
    run_wf: Runner,
    upstream: Callable[[str], Upstream],
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uses: str,
    git_url: bool,
    reason: str | None,
) -> None:
    monkeypatch.delenv("SHIPWAY_GIT_URL", raising=False)
    name = uniq("act")
    upstream(f"acme/{name}").commit({"action.yml": greet_action("x")}, tag="v1")
    uses = uses.replace("<REPO>", name)
    cache = tmp_path / "actions"
    record, lines = run_wf(
        f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: {uses}\n",
        action_cache=cache,
        git_url=source if git_url else "",
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "failure"
    if reason is None:
        assert f"::error::action {uses!r}: no directory 'missing' in acme/{name}@v1" in text
        return
    reason = reason.replace("<REPO>", name).replace("<BASE>", source)
    assert f"::error::action {uses!r} is not available: {reason}" in text, text
    assert f"vendor it with `git clone https://github.com/{uses.split('@')[0]} " in text
    leftovers = [p for p in cache.rglob("*") if not p.name.endswith(".lock")]
    assert leftovers == [] or leftovers == [cache / "acme"], leftovers


LEAF = """\
on:
  workflow_call:
    inputs: {n: {type: number, required: true}}
    outputs: {doubled: {value: "${{ jobs.d.outputs.v }}"}}
jobs:
  d:
    runs-on: x
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - id: s
        run: echo "v=$(( ${{ inputs.n }} * 2 ))" >> "$GITHUB_OUTPUT"
"""
BUILD = """\
on:
  workflow_call:
    inputs: {name: {type: string, required: true}}
    secrets: {api-key: {required: true}}
    outputs:
      result: {value: "${{ jobs.b.outputs.r }}"}
      doubled: {value: "${{ jobs.leaf.outputs.doubled }}"}
jobs:
  b:
    runs-on: x
    outputs: {r: "${{ steps.s.outputs.r }}"}
    steps:
      - id: s
        run: |
          echo "building ${{ inputs.name }} key=${{ secrets.api-key }}"
          echo "r=built-${{ inputs.name }}" >> "$GITHUB_OUTPUT"
  leaf:
    uses: acme/LEAFREPO/.github/workflows/leaf.yml@main
    with: {n: 21}
  sibling:
    uses: ./.github/workflows/sibling.yml
"""
SIBLING = """\
on: workflow_call
jobs:
  s:
    runs-on: x
    steps: [{run: echo sibling-from-the-called-repo}]
"""


def test_remote_reusable_workflow_inputs_outputs_secrets_nested(
    run_wf: Runner, upstream: Callable[[str], Upstream], source: str, tmp_path: Path
) -> None:
    flows, leaf = uniq("flows"), uniq("leaf")
    upstream(f"acme/{leaf}").commit({".github/workflows/leaf.yml": LEAF})
    upstream(f"acme/{flows}").commit(
        {
            ".github/workflows/build.yml": BUILD.replace("LEAFREPO", leaf),
            ".github/workflows/sibling.yml": SIBLING,
        },
        tag="v1",
    )
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          call:
            uses: acme/{flows}/.github/workflows/build.yml@v1
            with: {{name: app}}
            secrets: {{api-key: "${{{{ secrets.KEY }}}}"}}
          after:
            needs: call
            runs-on: x
            steps:
              - run: echo "got $R $D"
                env:
                  R: ${{{{ needs.call.outputs.result }}}}
                  D: ${{{{ needs.call.outputs.doubled }}}}
        """,
        secrets={"KEY": "sekrit-value"},
        action_cache=tmp_path / "actions",
        git_url=source,
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "building app key=***" in text and "sekrit-value" not in text
    assert "got built-app 42" in text
    assert "sibling-from-the-called-repo" in text  # ./ in a remote workflow: its own repo
    assert f"[call] Download action repository 'acme/{flows}@v1' (SHA:" in text
    assert (tmp_path / "actions" / "acme" / f"{flows}@v1" / ".github/workflows/build.yml").is_file()


def _caller(uses: str) -> str:
    return f"on: push\njobs:\n  top:\n    uses: {uses}\n"


def _calls(uses: str) -> str:
    return f"on: workflow_call\njobs:\n  next:\n    uses: {uses}\n"


def test_remote_reusable_cycle_and_depth_limits(
    run_wf: Runner, upstream: Callable[[str], Upstream], source: str, tmp_path: Path
) -> None:
    name = uniq("chain")
    ref = f"acme/{name}/.github/workflows"
    leaf = "on: workflow_call\njobs:\n  j:\n    runs-on: x\n    steps: [{run: echo leaf-ran}]\n"
    levels = {
        f".github/workflows/l{i}.yml": _calls(f"{ref}/l{i + 1}.yml@main") for i in range(1, 9)
    }
    upstream(f"acme/{name}").commit(
        {
            ".github/workflows/a.yml": _calls(f"{ref}/b.yml@main"),
            ".github/workflows/b.yml": _calls(f"{ref}/a.yml@main"),
            **levels,  # l1 -> l2 -> ... -> l9: with the caller, the ten levels GitHub allows
            ".github/workflows/l9.yml": leaf,
            ".github/workflows/d1.yml": _calls(f"{ref}/l1.yml@main"),
        }
    )
    extra = {"action_cache": tmp_path / "actions", "git_url": source}
    record, lines = run_wf(_caller(f"{ref}/l1.yml@main"), **extra)
    assert record["conclusion"] == "success", "\n".join(lines)
    assert any("leaf-ran" in ln for ln in lines)
    record, lines = run_wf(_caller(f"{ref}/d1.yml@main"), **extra)
    assert record["conclusion"] == "failure"
    names = ["d1", *(f"l{i}" for i in range(1, 10))]
    chain = " -> ".join(["ci.yml", *(f"{ref}/{f}.yml@main" for f in names)])
    assert any(
        f"reusable workflows are nested too deeply ({chain}): at most 10 levels, the caller "
        "and 9 levels of called workflows" in ln
        for ln in lines
    ), "\n".join(lines)
    record, lines = run_wf(_caller(f"{ref}/a.yml@main"), **extra)
    assert record["conclusion"] == "failure"
    cycle = " -> ".join(["ci.yml", *(f"{ref}/{f}.yml@main" for f in ("a", "b", "a"))])
    assert any(f"reusable workflows call each other in a cycle: {cycle}" in ln for ln in lines)


def test_remote_reusable_workflow_without_git_source(
    run_wf: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWAY_GIT_URL", raising=False)
    cache = tmp_path / "actions"
    record, lines = run_wf(
        _caller("acme/flows/.github/workflows/x.yml@v1"), action_cache=cache, git_url=""
    )
    assert record["conclusion"] == "failure"
    expected = (
        "reusable workflow 'acme/flows/.github/workflows/x.yml@v1' is not available: no git "
        "source is set to fetch acme/flows from (set SHIPWAY_GIT_URL or `shipway ci run "
        f"--git-url URL`); vendor it with `git clone https://github.com/acme/flows "
        f"{cache}/acme/flows@v1` (checked out at that ref)"
    )
    assert any(expected in ln for ln in lines), "\n".join(lines)


# -- JavaScript actions in a job container -----------------------------------------------------


@pytest.fixture(scope="session")
def node_images(podman: dict[str, str], busybox_image: str) -> dict[str, str]:
    """Images from busybox: one with glibc (the host's node runs), one with its own ``node``."""
    buildah = partial(run_buildah, podman)

    node = os.path.realpath(subprocess.run(["which", "node"], capture_output=True, text=True,
                                           check=True).stdout.strip())  # fmt: skip
    libs = subprocess.run(["ldd", node], capture_output=True, text=True, check=True).stdout
    glibc = buildah("from", busybox_image)
    for line in libs.splitlines():
        path = next((w for w in line.split() if w.startswith("/")), None)
        if path:
            buildah("copy", glibc, os.path.realpath(path), path)
    buildah("commit", "-q", "--rm", glibc, "localhost/ci-glibc:1")
    own = buildah("from", busybox_image)
    script = '#!/bin/sh\necho "image node ran $*"\n'
    buildah("run", "--isolation", "chroot", own, "--", "sh", "-c",
            f"mkdir -p /usr/local/bin && printf '%s' '{script}' > /usr/local/bin/node && "
            "chmod +x /usr/local/bin/node")  # fmt: skip
    buildah("commit", "-q", "--rm", own, "localhost/ci-ownnode:1")
    return {"glibc": "localhost/ci-glibc:1", "own": "localhost/ci-ownnode:1"}


def test_js_action_in_job_container(
    run_wf: Runner,
    upstream: Callable[[str], Upstream],
    source: str,
    tmp_path: Path,
    podman: dict[str, str],
    busybox_image: str,
    node_images: dict[str, str],
) -> None:
    js_name = uniq("jsbox")
    upstream(f"acme/{js_name}").commit({"js/action.yml": JS_ACTION, "js/main.js": js_main("boxed")})
    jobs = {
        "hostnode": node_images["glibc"],
        "imagenode": node_images["own"],
        "none": busybox_image,
    }
    body = "".join(
        f"""
          {job}:
            runs-on: x
            container: {image}
            steps:
              - id: js
                uses: acme/{js_name}/js@main
                with: {{who: {job}}}
              - run: echo "{job} out=${{{{ steps.js.outputs.v }}}}"
        """
        for job, image in jobs.items()
    )
    record, lines = run_wf(
        "on: push\njobs:" + body, action_cache=tmp_path / "actions", git_url=source,
        podman_env=podman,
    )  # fmt: skip
    text = "\n".join(lines)
    results = {j["id"]: j["result"] for j in record["jobs"]}
    assert results == {"hostnode": "success", "imagenode": "success", "none": "failure"}, text
    assert "js main boxed for hostnode" in text and "hostnode out=boxed" in text
    assert "in-box=true" in text and "in-box=false" not in text
    assert "image node ran " in text and "/_actions/acme/" in text
    assert (
        f"::error::Js: JavaScript actions need node in the job container, but image "
        f"{busybox_image} has no node and the host's node" in text
    )


def test_remote_docker_action_built_from_its_dockerfile(
    run_wf: Runner,
    upstream: Callable[[str], Upstream],
    source: str,
    tmp_path: Path,
    podman: dict[str, str],
    busybox_image: str,
) -> None:
    name = uniq("dockact")
    upstream(f"acme/{name}").commit(
        {
            "action.yml": "name: Dock\ninputs: {word: {default: x}}\n"
            "runs: {using: docker, image: Dockerfile}\n",
            "Dockerfile": f"FROM {busybox_image}\n"
            'ENTRYPOINT ["sh", "-c", "echo docker-action-says $INPUT_WORD"]\n',
        },
        tag="v1",
    )
    record, lines = run_wf(
        f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        f"      - {{uses: acme/{name}@v1, with: {{word: remote}}}}\n",
        action_cache=tmp_path / "actions",
        git_url=source,
        podman_env=podman,
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "docker-action-says remote" in text
