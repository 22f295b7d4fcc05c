"""Bounded reading: billion laughs, self-referencing aliases, depth, size and encoding,
through every reader (resources, workflows, action metadata, rendered manifests, JSON)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.syntax.action import parse_action
from shipway.ci.syntax.github import parse_workflow
from shipway.deploy import render
from shipway.model import bounded, resources, yamlsrc
from shipway.model.errors import InputError
from shipway.runtime.textfiles import read_text


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


READERS: dict[str, Callable[[str, str], Any]] = {
    "resources": resources.parse_text,
    "yamlsrc": lambda t, f: list(yamlsrc.load_documents(t, f)),
    "workflow": parse_workflow,
    "action": parse_action,
    "manifests": render.parse,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_billion_laughs_is_refused_at_its_line(reader: str) -> None:
    text = billion_laughs()
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as err:
            READERS[reader](text, "lol.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand to more than" in err.value.message
    assert err.value.subject is not None and err.value.subject.startswith("lol.yaml:")
    assert err.value.exit_code == 2
    assert peak < 100 * 1024 * 1024


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {k: *x}\n", "- &x [[*x]]\n"])
def test_self_referencing_alias_is_refused(reader: str, text: str) -> None:
    with pytest.raises(InputError, match=r"alias \*x refers to its own anchor") as err:
        READERS[reader](text, "self.yaml")
    assert err.value.subject is not None and err.value.subject.startswith("self.yaml:1:")


def test_modest_aliases_still_load() -> None:
    text = "base: &b {image: x, env: [1, 2]}\none: *b\ntwo: *b\n"
    (doc,) = yamlsrc.load_documents(text, "ok.yaml")
    assert doc.data["one"] == doc.data["two"] == {"image": "x", "env": [1, 2]}
    assert render.parse("kind: A\nx: &v [1]\ny: *v\n", "m.yaml")[0]["y"] == [1]


def test_a_redefined_anchor_is_not_a_cycle() -> None:
    # the loaders refuse duplicate anchors themselves; the bound must not call it a cycle
    bounded.check_yaml("a: &x [1]\nb: &x [&x [2], *x]\n", "re.yaml")
    with pytest.raises(InputError, match="duplicate anchor"):
        list(yamlsrc.load_documents("a: &x [1]\nb: &x [&x [2], *x]\n", "re.yaml"))


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("flow", [True, False])
def test_nesting_depth_is_bounded(reader: str, flow: bool) -> None:
    depth = bounded.DEFAULT_MAX_DEPTH + 5
    text = (
        "x: " + "[" * depth + "]" * depth + "\n"
        if flow
        else "".join(" " * i + "k:\n" for i in range(depth)) + " " * depth + "v\n"
    )
    with pytest.raises(InputError, match="nested deeper than 200 levels") as err:
        READERS[reader](text, "deep.yaml")
    assert err.value.subject is not None and err.value.subject.startswith("deep.yaml:")


def test_size_limit_is_configurable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHIPWAY_MAX_FILE_BYTES", "1KiB")
    text = "a: " + "x" * 2000 + "\n"
    with pytest.raises(InputError, match=r"larger than the limit of 1024 bytes"):
        list(yamlsrc.load_documents(text, "big.yaml"))
    f = tmp_path / "big.yaml"
    f.write_text(text)
    with pytest.raises(InputError, match="SHIPWAY_MAX_FILE_BYTES") as err:
        read_text(f)
    assert err.value.subject == str(f)
    monkeypatch.setenv("SHIPWAY_MAX_FILE_BYTES", "lots")
    with pytest.raises(InputError, match="not a size in bytes"):
        bounded.max_file_bytes()


def test_default_limits() -> None:
    assert bounded.max_file_bytes() == 10 * 1024 * 1024
    assert bounded.max_body_bytes() == 25 * 1024 * 1024
    assert bounded.parse_size("25MiB", "x") == bounded.max_body_bytes()


def test_non_utf8_file_names_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_bytes(b"kind: Application\nname: ok\xff\n")
    with pytest.raises(InputError) as err:
        read_text(f, "bad.yaml")
    assert err.value.subject == "bad.yaml:2:9"
    assert "not UTF-8" in err.value.message


def test_json_bounds() -> None:
    assert bounded.load_json(b'{"a": [1, {"b": 2}]}', "body") == {"a": [1, {"b": 2}]}
    with pytest.raises(InputError, match="nested deeper than 200") as err:
        bounded.load_json("[" * 300 + "]" * 300, "body")
    assert err.value.subject == "body"
    with pytest.raises(InputError, match="nested deeper than 200"):
        bounded.load_json("[" * 100_000 + "]" * 100_000, "body")  # past Python's own limit
    with pytest.raises(InputError) as err:
        bounded.load_json('{\n  "a": nope}', "body")
    assert err.value.subject == "body:2:8"
    with pytest.raises(InputError, match="not UTF-8"):
        bounded.load_json(b'{"a": "\xfe"}', "body")
    with pytest.raises(InputError, match="SHIPWAY_MAX_BODY_BYTES"):
        bounded.load_json(json.dumps({"a": "x" * 100}), "body", bounded.Limits(max_bytes=50,
                          what="body", size_variable="SHIPWAY_MAX_BODY_BYTES"))  # fmt: skip


def test_kind_that_is_not_a_string_is_an_input_error() -> None:
    text = "apiVersion: argoproj.io/v1alpha1\nkind: [Application]\nmetadata: {name: x}\n"
    with pytest.raises(InputError) as err:
        resources.parse_text(text, "k.yaml")
    assert err.value.subject == "k.yaml:2:1"
    assert "kind must be a string" in err.value.message


def test_refusal_reads_only_the_first_events() -> None:
    """The refusal stops at the alias that crosses the limit, long before the end."""
    import yaml

    seen: list[Any] = []

    def counting() -> Any:
        for ev in yaml.parse(billion_laughs(), Loader=yaml.CSafeLoader):
            seen.append(ev)
            yield ev

    with pytest.raises(InputError):
        bounded.check_events(counting(), "lol.yaml")
    total = sum(1 for _ in yaml.parse(billion_laughs(), Loader=yaml.CSafeLoader))
    assert len(seen) < total
