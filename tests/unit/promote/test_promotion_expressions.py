"""Kargo's expression context: ctx, vars, outputs, imageFrom/commitFrom/warehouse, if functions."""

from __future__ import annotations

import pytest

from shipway.promote.expressions import Scope, condition, render
from shipway.templates.errors import ExprError

FREIGHT = {
    "name": "abc123",
    "origin": {"kind": "Warehouse", "name": "web"},
    "images": [{"repoURL": "reg/web", "tag": "1.2.0", "digest": "sha256:aa"}],
    "commits": [{"repoURL": "https://git.example/cfg.git", "id": "c0ffee", "branch": "main"}],
}
OTHER = {
    "name": "def456",
    "origin": {"kind": "Warehouse", "name": "api"},
    "images": [{"repoURL": "reg/api", "tag": "0.9.0"}, {"repoURL": "reg/web", "tag": "1.0.0"}],
}


def _scope(**kw: object) -> Scope:
    return Scope(project="demo", stage="test", promotion="test.01.abc1234", target=FREIGHT,
                 collection=[OTHER], **kw)  # type: ignore[arg-type]  # fmt: skip


def test_ctx_vars_outputs() -> None:
    s = _scope(vars={"n": 2}, outputs={"push": {"commit": "beef"}})
    assert render("${{ ctx.project }}/${{ ctx.stage }}", s) == "demo/test"
    assert render("${{ ctx.targetFreight.origin.name }}", s) == "web"
    assert render({"a": ["${{ vars.n + 1 }}"]}, s) == {"a": [3]}
    assert render("${{ outputs.push.commit }}", s) == "beef"
    assert render("${{ quote(vars.n) }}", s) == "2"


def test_image_and_commit_from() -> None:
    s = _scope()
    assert render("${{ imageFrom('reg/api').Tag }}", s) == "0.9.0"
    assert render("${{ commitFrom('https://git.example/cfg').ID }}", s) == "c0ffee"
    with pytest.raises(ExprError, match="several origins"):
        render("${{ imageFrom('reg/web').Tag }}", s)
    assert render("${{ imageFrom('reg/web', warehouse('web')).Tag }}", s) == "1.2.0"
    with pytest.raises(ExprError, match="no image 'reg/none'"):
        render("${{ imageFrom('reg/none').Tag }}", s)
    with pytest.raises(ExprError, match="charts are not supported yet"):
        render("${{ chartFrom('oci://charts/x') }}", s)


def test_if_functions() -> None:
    ok, failed = _scope(), _scope(failed=True)
    assert condition(None, ok) and not condition(None, failed)
    assert condition("${{ failure() }}", failed) and not condition("${{ failure() }}", ok)
    assert condition("${{ always() }}", failed)
    assert condition("status() == 'Failed'", failed)
    with pytest.raises(ExprError, match="must give a bool"):
        condition("${{ 'yes' }}", ok)
