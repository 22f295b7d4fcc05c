"""The sprig functions ``funcs_sprig_extra`` adds, with the answers sprig's docs give."""

from __future__ import annotations

import re

import pytest

from shipway.templates import TemplateError
from shipway.templates.gotemplate import render, sprig_funcs

CASES = [
    ('{{ base "/a/b/c.yaml" }}', "c.yaml"),
    ('{{ dir "/a/b/c.yaml" }}', "/a/b"),
    ('{{ ext "foo.bar" }}', ".bar"),
    ('{{ clean "foo/bar/../baz" }}', "foo/baz"),
    ('{{ isAbs "/etc" }} {{ osIsAbs "etc" }}', "true false"),
    ("{{ seq 5 }}", "1 2 3 4 5"),
    ("{{ seq -3 }}", "1 0 -1 -2 -3"),
    ("{{ seq 0 2 }}", "0 1 2"),
    ("{{ seq 2 -2 }}", "2 1 0 -1 -2"),
    ("{{ seq 0 2 10 }}", "0 2 4 6 8 10"),
    ("{{ seq 0 -2 -5 }}", "0 -2 -4"),
    ("{{ chunk 3 (list 1 2 3 4 5 6 7 8) }}", "[[1 2 3] [4 5 6] [7 8]]"),
    ('{{ wrapWith 5 "\\t" "Hello World" }}', "Hello\tWorld"),
    ('{{ wrap 80 "short" }}', "short"),
    ("{{ biggest 1 7 3 }}", "7"),
    ("{{ add1f 1.5 }}", "2.5"),
    ("{{ mustReverse (list 1 2 3) }} {{ mustRest (list 1 2 3) }}", "[3 2 1] [2 3]"),
    ('{{ mustRegexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
    ('{{ mustRegexSplit "z+" "pizza" -1 }}', "[pi a]"),
    ('{{ typeIsLike "[]interface {}" (list 1) }}', "true"),
]


@pytest.mark.parametrize(("text", "want"), CASES)
def test_sprig_answers(text: str, want: str) -> None:
    assert render(text, {}, funcs=sprig_funcs()) == want


def test_random_and_uuid_shapes() -> None:
    f = sprig_funcs()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", render("{{ randAlphaNum 12 }}", {}, funcs=f))
    assert re.fullmatch(r"[0-9]{6}", render("{{ randNumeric 6 }}", {}, funcs=f))
    assert re.fullmatch(r"[0-9a-f-]{36}", render("{{ uuidv4 }}", {}, funcs=f))
    assert sorted(render('{{ shuffle "abc" }}', {}, funcs=f)) == ["a", "b", "c"]


def test_must_twins_fail_where_sprig_fails() -> None:
    with pytest.raises(TemplateError, match="regexp"):
        render('{{ mustRegexFind "(" "x" }}', {}, funcs=sprig_funcs())
