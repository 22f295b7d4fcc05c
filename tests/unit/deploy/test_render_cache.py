"""``render.parse`` keeps the documents of a text it has seen: each caller still gets its
own copy, a changed text is parsed again, and a bad text is refused every time."""

from __future__ import annotations

import pytest

from shipway.deploy import render
from shipway.model.errors import InputError

TEXT = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: '1'}\n"


def test_a_text_seen_before_gives_an_equal_copy_that_callers_may_change() -> None:
    first = render.parse(TEXT, "cache-a.yaml")
    first[0]["data"]["v"] = "changed by a caller"
    again = render.parse(TEXT, "cache-a.yaml")
    assert again == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                      "data": {"v": "1"}}]  # fmt: skip
    again[0]["metadata"]["name"] = "b"
    assert render.parse(TEXT, "cache-a.yaml")[0]["metadata"]["name"] == "a"
    changed = render.parse(TEXT.replace("'1'", "'2'"), "cache-a.yaml")
    assert changed[0]["data"]["v"] == "2"


def test_a_bad_text_is_refused_each_time() -> None:
    bad = "a: [1, 2\n"
    for _ in range(2):
        with pytest.raises(InputError) as err:
            render.parse(bad, "cache-bad.yaml")
        assert "cache-bad.yaml" in str(err.value)


def test_a_oversized_cache_drops_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "_PARSED_BYTES", 1)
    render.parse(TEXT, "cache-old.yaml")
    render.parse(TEXT, "cache-new.yaml")
    assert [k[0] for k in render._PARSED] == ["cache-new.yaml"]
