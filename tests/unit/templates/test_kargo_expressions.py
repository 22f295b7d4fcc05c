"""Kargo's ``${{ }}`` expressions in promotion step config (docs.kargo.io expressions reference)."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.templates.exprlang import ExprError, render_template
from shipway.templates.exprlang.template import KARGO_PURE_FUNCS, segments

FREIGHT = {"images": [{"repoURL": "registry.local/app", "tag": "1.2.3", "digest": "sha256:ab"}]}


def image_from(repo: str) -> dict[str, Any]:
    for img in FREIGHT["images"]:
        if img["repoURL"] == repo:
            return {"RepoURL": img["repoURL"], "Tag": img["tag"], "Digest": img["digest"]}
    raise ValueError(f"no image {repo} in the target Freight")


FUNCS = {**KARGO_PURE_FUNCS, "imageFrom": image_from, "warehouse": lambda n: {"name": n}}
ENV = {
    "vars": {"imageRepo": "registry.local/app", "gitRepo": "git://x/cfg.git", "replicas": "3"},
    "ctx": {"project": "demo", "stage": "test", "promotion": "p-1", "targetFreight": {"name": "f"}},
    "outputs": {"commit": {"commit": "abc"}, "update": {"commit": "def"}},
    "secrets": {"creds": {"token": "s3cret"}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{ quote(imageFrom(vars.imageRepo).Tag) }}", "1.2.3"),
        ("${{ imageFrom(vars.imageRepo).Tag }}", "1.2.3"),
        ("${{ vars.replicas }}", 3),
        ("${{ quote(vars.replicas) }}", "3"),
        ("${{ 1 + 1 }}", 2),
        ("${{ ctx.stage == 'test' }}", True),
        ("${{ {a: 1} }}", {"a": 1}),
        ("${{ ctx.targetFreight }}", {"name": "f"}),
        ("./src/${{ ctx.stage }}", "./src/test"),
        (
            "Updated ${{ ctx.stage }} to ${{ imageFrom(vars.imageRepo).Tag }}",
            "Updated test to 1.2.3",
        ),
        ("${{ outputs.commit.commit }}", "abc"),
        ("${{ vars.imageRepo }}:${{ imageFrom(vars.imageRepo).Tag }}", "registry.local/app:1.2.3"),
        ("no expressions here", "no expressions here"),
        ("${{ '}}' }}", "}}"),
        # Kargo writes a non-string value as its JSON (nil is null) and keeps unsafeQuote's
        # escapes (pkg/expressions EvaluateTemplate)
        ("a ${{ 1 }} b ${{ true }} c ${{ nil }}", "a 1 b true c null"),
        ("${{ unsafeQuote('x\"y') }}", '"x\\"y"'),
        ("${{ quote({'channel': 'C1', 'n': 2}) }}\n", '{"channel":"C1","n":2}\n'),
        ("body: ${{ {'a': [1, nil]} }}", 'body: {"a":[1,null]}'),
        ("${{ quote(40 + 2) }}", "42"),
        ("${{ '1.27' }}", 1.27),
        ("${{ quote('1.27') }}", "1.27"),
        ("${{ 't' }}", True),
        ("${{ '12e4567' }}", "12e4567"),  # overflows ParseFloat: stays a string
        ("${{ quote('say \"hi\"') }}", 'say \\"hi\\"'),
        ("${{ warehouse('my-wh').name }}", "my-wh"),
        ("${{ ctx.project + '/' + ctx.stage }}", "demo/test"),
        ("${{ secrets.creds.token }}", "s3cret"),
        ("${{ 'true' }}", True),
        ("${{ quote('true') }}", "true"),
    ],
)
def test_render(text: str, expected: Any) -> None:
    got = render_template(text, ENV, funcs=FUNCS)
    assert got == expected
    assert type(got) is type(expected)


def test_segments_skip_closing_braces_inside_strings() -> None:
    assert segments("a${{ 'x}}y' }}b") == [(False, "a", 0), (True, " 'x}}y' ", 4), (False, "b", 14)]


def test_error_position_is_in_the_whole_string() -> None:
    with pytest.raises(ExprError) as err:
        render_template("image: ${{ imageFrom( }}", ENV, funcs=FUNCS)
    assert err.value.column is not None and err.value.column > 10
    assert "image: ${{ imageFrom( }}" in str(err.value)


def test_unclosed_expression() -> None:
    with pytest.raises(ExprError, match=r"unclosed \$\{\{ expression \(1:3\)"):
        render_template("x ${{ 1 + 1", ENV)


def test_function_failure_names_the_reason() -> None:
    with pytest.raises(ExprError, match="no image nope in the target Freight"):
        render_template("${{ imageFrom('nope').Tag }}", ENV, funcs=FUNCS)
