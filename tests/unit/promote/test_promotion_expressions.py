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
    with pytest.raises(ExprError, match="no chart 'oci://charts/x'"):
        render("${{ chartFrom('oci://charts/x') }}", s)


CHARTED = {
    **FREIGHT,
    "charts": [
        {"repoURL": "oci://reg.example/charts/web", "version": "1.4.0"},
        {"repoURL": "https://charts.example/", "name": "web", "version": "2.0.1"},
    ],
}
API_CHARTS = {
    **OTHER,
    "charts": [{"repoURL": "https://charts.example", "name": "web", "version": "1.9.0"}],
}


def test_chart_from_oci_classic_and_origins() -> None:
    s = Scope(project="demo", stage="test", promotion="p", target=CHARTED,
              collection=[API_CHARTS])  # fmt: skip
    got = render("${{ chartFrom('oci://reg.example/charts/web') }}", s)
    assert got == {"RepoURL": "oci://reg.example/charts/web", "Name": "", "Version": "1.4.0"}
    # a classic repository is named by URL and chart name; the URL's spelling does not matter
    with pytest.raises(ExprError, match="several origins"):
        render("${{ chartFrom('https://charts.example', 'web').Version }}", s)
    assert render("${{ chartFrom('HTTPS://charts.example/', 'web', warehouse('web')).Version }}",
                  s) == "2.0.1"  # fmt: skip
    assert render("${{ chartFrom('https://charts.example', 'web', warehouse('api')).Version }}",
                  s) == "1.9.0"  # fmt: skip
    # without the name, a classic chart is not found (Kargo's rule: name it)
    with pytest.raises(ExprError, match=r"no chart 'https://charts\.example'"):
        render("${{ chartFrom('https://charts.example').Version }}", s)
    # an OCI chart with an origin and no name
    assert render("${{ chartFrom('oci://reg.example/charts/web', warehouse('web')).Version }}",
                  s) == "1.4.0"  # fmt: skip
    with pytest.raises(ExprError, match="bad argument"):
        render("${{ chartFrom('oci://reg.example/charts/web', 3) }}", s)


def test_if_functions() -> None:
    ok, failed = _scope(), _scope(failed=True)
    assert condition(None, ok) and not condition(None, failed)
    assert condition("${{ failure() }}", failed) and not condition("${{ failure() }}", ok)
    assert condition("${{ always() }}", failed)
    assert condition("status() == 'Failed'", failed)
    with pytest.raises(ExprError, match="must give a bool"):
        condition("${{ 'yes' }}", ok)
