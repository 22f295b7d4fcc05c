"""The YAML readers beyond resources and workflows are bounded too: files from repositories
(the updater's kustomization and values files, ``.argocd-source-<app>.yaml``, Helm values
read by notifications), the notifications ConfigMap and subscription annotations, an
ApplicationSet's ``elementsYaml`` and ``templatePatch``, a Kargo ``http`` step's YAML
answer and the template function ``fromYaml``. A billion-laughs text or a self-reference
is refused before anything is built from it, naming where it came from."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shipway.deploy.appset import generators, render
from shipway.model.errors import InputError, ShipwayError
from shipway.notify import appdetails, evaluate
from shipway.notify.config import parse_config
from shipway.promote.steps import httpstep
from shipway.promote.steps.base import StepFailed
from shipway.templates import TemplateError
from shipway.templates.gotemplate import render as go_render
from shipway.templates.gotemplate import sprig_funcs
from shipway.updater.edit import argocd_source, yamltext


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


LAUGHS = billion_laughs()
SELF = "a: &x [1, *x]\n"
AS_LIST = "- &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"- &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


def _http(text: str) -> Any:
    resp = httpx.Response(200, headers={"content-type": "application/yaml"}, text=text)
    return httpstep._body(resp, None)


def _elements(text: str) -> Any:
    ctx = generators.Context(None, render.Options.of({}), "argocd")  # type: ignore[arg-type]
    return generators.generate({"list": {"elementsYaml": text}}, ctx, "spec.generators[0]")


def _patch(text: str) -> Any:
    opts = render.Options.of({"goTemplate": True})
    template = {"metadata": {"name": "x"}, "spec": {}}
    return render.application(template, {}, opts, text, "argocd")


def _subscription(text: str) -> list[tuple[str, str, str, str]]:
    obj = {"metadata": {"annotations": {evaluate.SUBSCRIPTIONS: text}}}
    return evaluate._annotation_list(obj, {}, parse_config({}))


READERS: dict[str, tuple[Callable[[str], Any], type[BaseException], str]] = {
    "updater kustomization": (lambda t: yamltext.parse(t, "kustomization.yaml"),
                              InputError, "kustomization.yaml:"),
    "argocd-source file": (
        lambda t: argocd_source.set_kustomize_image(t, ".argocd-source-web.yaml", "a", "a:1"),
        InputError, ".argocd-source-web.yaml:"),
    "notifications values file": (lambda t: appdetails.parse_values(t, "values.yaml"),
                                  ValueError, "values.yaml:"),
    "notifications ConfigMap": (lambda t: parse_config({"trigger.on-x": t}), InputError,
                                "data.trigger.on-x:"),
    "subscription annotation": (lambda t: _subscription(t), AssertionError, ""),
    "elementsYaml": (_elements, InputError, "spec.generators[0].list.elementsYaml:"),
    "templatePatch": (_patch, InputError, "templatePatch:"),
    "http step answer": (_http, StepFailed, "http response:"),
    "fromYaml": (lambda t: go_render("{{ fromYaml .x }}", {"x": t}, funcs=sprig_funcs()),
                 TemplateError, "fromYaml:"),
}  # fmt: skip


def _refusal(name: str, text: str) -> str:
    read, error, where = READERS[name]
    if name == "subscription annotation":  # problems are returned, one per bad annotation
        ((_t, _s, _r, problem),) = read(text)
        assert problem.startswith(f"annotation {evaluate.SUBSCRIPTIONS}:"), problem
        return problem
    with pytest.raises(error) as err:
        read(text)
    assert where in str(err.value), str(err.value)
    return str(err.value)


@pytest.mark.parametrize("name", sorted(READERS))
def test_billion_laughs_is_refused_cheaply(name: str) -> None:
    text = AS_LIST if name in ("elementsYaml",) else LAUGHS
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        message = _refusal(name, text)
        took = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand to more than" in message
    assert took < 5 and peak < 100 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_self_referencing_alias_is_refused(name: str) -> None:
    text = "- &x [1, *x]\n" if name == "elementsYaml" else SELF
    assert "refers to its own anchor" in _refusal(name, text)


def test_ordinary_anchors_still_read() -> None:
    text = "base: &b {a: 1}\nother: *b\n"
    assert appdetails.parse_values(text, "values.yaml") == {"base": {"a": 1}, "other": {"a": 1}}
    assert yamltext.parse("images: &i [{name: a}]\nmore: *i\n", "k.yaml").docs
    assert _http(text) == {"base": {"a": 1}, "other": {"a": 1}}
    try:
        assert go_render("{{ (fromYaml .x).other.a }}", {"x": text}, funcs=sprig_funcs()) == "1"
    except ShipwayError as exc:  # pragma: no cover - a failure shows the message
        raise AssertionError(str(exc)) from None
