"""Property-based fuzzing of every parser of user input: resources, workflows, Dockerfiles
and webhook bodies. Whatever the input, a parser returns or raises a ``ShipwayError`` (a
clear error with its subject), never anything else. 11,000 cases in all, a few seconds each.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipway.ci.syntax.action import parse_action
from shipway.ci.syntax.github import parse_workflow
from shipway.controller.hooks import parse_git_push
from shipway.deploy import render
from shipway.git import webhooks as forge_hooks
from shipway.images.build import dockerfile
from shipway.images.build.instructions import ImageState, apply_config
from shipway.model import bounded
from shipway.model.errors import ShipwayError
from shipway.model.resources import parse_text
from shipway.updater import webhooks as registry_hooks


def fuzz(cases: int) -> settings:
    """``cases`` examples, no deadline (CI machines are shared), no example database on disk.

    Derandomized (the same cases every run, so CI never fails by luck) unless
    ``SHIPWAY_FUZZ_RANDOM=1`` asks for new ones; a case found that way becomes an ``@example``.
    """
    return settings(
        max_examples=cases,
        deadline=None,
        derandomize=os.environ.get("SHIPWAY_FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- building blocks ----------------------------------------------------------------------

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAML_NOISE = "&*[]{}:-#|>!%@`'\"\n\t ,?$\\<"
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["${{ secrets.X }}", "${{", "}}", "[", "*a", "&a", "~"]),
)  # fmt: skip


@functools.cache
def values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON-like values whose mapping keys come from ``keys`` (one strategy per key set)."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=6,
    )


@st.composite
def mutated_yaml(draw: st.DrawFn, doc: st.SearchStrategy[Any]) -> str:
    """A YAML dump of ``doc``, sometimes with YAML's special characters spliced in."""
    text = yaml.dump(draw(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        noise = draw(st.text(alphabet=YAML_NOISE, min_size=1, max_size=3))
        text = text[:at] + noise + text[at:]
    return text


def _only_clear_errors(fn: Any, *args: Any, **kw: Any) -> None:
    try:
        fn(*args, **kw)
    except ShipwayError as exc:
        assert str(exc)  # a message, with its subject


# -- resources ----------------------------------------------------------------------------

RES_KEYS = st.sampled_from(
    ["apiVersion", "kind", "metadata", "name", "namespace", "spec", "source", "repoURL",
     "destination", "server", "syncPolicy", "automated", "data", "images", "x"]
)  # fmt: skip


@st.composite
def resource_docs(draw: st.DrawFn) -> Any:
    doc = draw(st.dictionaries(RES_KEYS, values(RES_KEYS), max_size=5))
    if draw(st.booleans()):
        doc["apiVersion"] = draw(
            st.sampled_from(["argoproj.io/v1alpha1", "shipway.dev/v1alpha1", "v1"]) | scalars
        )
        doc["kind"] = draw(
            st.sampled_from(["Application", "AppProject", "Pipeline", "ConfigMap"])
            | values(RES_KEYS)
        )
        doc["metadata"] = draw(st.just({"name": "x"}) | values(RES_KEYS))
    return doc


@fuzz(2000)
@given(mutated_yaml(resource_docs()))
def test_fuzz_resources(text: str) -> None:
    _only_clear_errors(parse_text, text, "fuzz.yaml")
    _only_clear_errors(render.parse, text, "fuzz.yaml")


# -- workflows ----------------------------------------------------------------------------

WF_KEYS = st.sampled_from(
    ["on", "jobs", "runs-on", "steps", "run", "uses", "with", "env", "needs", "if", "name",
     "strategy", "matrix", "include", "timeout-minutes", "outputs", "container", "services",
     "permissions", "concurrency", "push", "branches", "inputs", "build", "test"]
)  # fmt: skip


@st.composite
def workflow_docs(draw: st.DrawFn) -> Any:
    steps = draw(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "run": scalars,
                    "uses": scalars,
                    "name": scalars,
                    "with": values(WF_KEYS),
                },
            ),
            max_size=3,
        )
    )
    job = {"runs-on": draw(scalars | st.just("ubuntu-latest")), "steps": steps}
    job.update(draw(st.dictionaries(WF_KEYS, values(WF_KEYS), max_size=3)))
    on = draw(st.sampled_from(["push", ["push", "pull_request"]]) | values(WF_KEYS))
    doc: dict[str, Any] = {"on": on, "jobs": {draw(st.sampled_from(["build", "a b"])): job}}
    doc.update(draw(st.dictionaries(WF_KEYS, values(WF_KEYS), max_size=2)))
    return doc


@fuzz(2000)
@given(mutated_yaml(workflow_docs()))
@example("'on': push\njobs:\n  build:\n    runs-on: null\n    steps:\n    - run: \"\\r\"\n")
def test_fuzz_workflows(text: str) -> None:
    _only_clear_errors(parse_workflow, text, ".github/workflows/fuzz.yml")


ACTION_KEYS = st.sampled_from(["name", "inputs", "outputs", "runs", "using", "steps", "main",
                               "image", "args", "default", "required", "composite"])  # fmt: skip


@fuzz(1000)
@given(mutated_yaml(values(ACTION_KEYS)))
def test_fuzz_action_metadata(text: str) -> None:
    _only_clear_errors(parse_action, text, "action.yml")


# -- Dockerfiles --------------------------------------------------------------------------

INSTRUCTIONS = [*sorted(dockerfile.KNOWN), "from", "copy", "BOGUS", "#", "# escape=`"]
ARG_PARTS = st.sampled_from(
    ["x", "80", "abc", "80/udp", "1-3", "$A", "${A}", "${A:-d}", "${A:+w}", "${A:?msg}",
     "${B?}", "${", "}", "[", "]", '["a","b"]', '"q', "'", "\\", "=", "A=1", "--from=a",
     "--chown=1:2", "--mount=type=cache,target=/x", "<<EOF", "AS", "b", "/app", "-"]
)  # fmt: skip


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append("FROM scratch AS a")
    for _ in range(draw(st.integers(0, 8))):
        ins = draw(st.sampled_from(INSTRUCTIONS))
        args = draw(st.lists(ARG_PARTS | st.text(max_size=6), max_size=4))
        sep = draw(st.sampled_from([" ", "", " \\\n "]))
        lines.append(ins + " " + sep.join(args))
        if draw(st.integers(0, 5)) == 0:
            lines += ["line of a heredoc", "EOF"]
    return "\n".join(lines) + "\n"


def _parse_and_configure(text: str) -> None:
    df = dockerfile.parse(text, "Dockerfile")
    for stage in df.stages:
        state = ImageState(args={"A": "1"})
        for ins in stage.instructions:
            if ins.cmd not in ("RUN", "COPY", "ADD", "ARG"):
                try:
                    apply_config(state, ins, "Dockerfile")
                except dockerfile.UnsetVariableError as exc:
                    raise ShipwayError(exc.message, subject=f"Dockerfile:{ins.line}") from None


@fuzz(3000)
@given(dockerfiles() | st.text(max_size=80))
def test_fuzz_dockerfiles(text: str) -> None:
    _only_clear_errors(_parse_and_configure, text)


# -- webhook bodies -----------------------------------------------------------------------

HOOK_KEYS = st.sampled_from(
    ["ref", "before", "after", "repository", "clone_url", "html_url", "pull_request", "number",
     "action", "head", "base", "sha", "events", "target", "repository", "tag", "digest",
     "mediaType", "request", "host", "push_data", "event_data", "resources", "repo", "updates",
     "package", "package_version", "container_metadata", "docker_url", "updated_tags"]
)  # fmt: skip
HEADERS = st.sampled_from(
    [
        {"X-GitHub-Event": "push"},
        {"X-GitHub-Event": "pull_request"},
        {"X-GitHub-Event": "ping"},
        {"X-GitHub-Event": "package"},
        {"X-Gitlab-Event": "Push Hook"},
        {"X-Gitlab-Event": "Merge Request Hook"},
        {"X-Gitea-Event": "push"},
        {"Content-Type": "application/vnd.docker.distribution.events.v1+json"},
        {},
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=64))
    value = draw(values(HOOK_KEYS))
    if kind == 1:
        value = {"events": [value, {"target": value, "request": value}]}
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    if kind == 3 and text:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(alphabet='{}[]",:\\', max_size=2)) + text[at:]
    return text.encode("utf-8", "surrogatepass")


def _webhooks(body: bytes, headers: dict[str, str]) -> None:
    for fn in (
        lambda: forge_hooks.parse(headers, body),
        lambda: registry_hooks.parse(body, headers),
        lambda: parse_git_push(bounded.load_json(body, "/hooks/git")),
    ):
        _only_clear_errors(fn)


@fuzz(2500)
@given(bodies(), HEADERS)
@example(b'{"number": ":"}', {"X-GitHub-Event": "pull_request"})
def test_fuzz_webhook_bodies(body: bytes, headers: dict[str, str]) -> None:
    _webhooks(body, headers)
