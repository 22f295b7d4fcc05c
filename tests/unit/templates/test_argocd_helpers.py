"""Argo CD notifications' template and trigger helpers (its "Functions" page)."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.templates.argocd import notification_vars
from shipway.templates.exprlang import evaluate
from shipway.templates.gotemplate import TemplateError, render, sprig_funcs

APP: dict[str, Any] = {
    "metadata": {"name": "guestbook"},
    "spec": {"source": {"repoURL": "git@github.com:argoproj-labs/argocd-notifications.git"}},
    "status": {
        "operationState": {
            "startedAt": "2024-03-05T14:07:09Z",
            "operation": {"info": [{"name": "reason", "value": "manual"}]},
        }
    },
}


def data() -> dict[str, Any]:
    return {"app": APP, **notification_vars()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{{ call .repo.RepoURLToHTTPS .app.spec.source.repoURL }}",
            "https://github.com/argoproj-labs/argocd-notifications",
        ),
        (
            "{{ call .repo.FullNameByRepoURL .app.spec.source.repoURL }}",
            "argoproj-labs/argocd-notifications",
        ),
        ('{{ call .strings.ReplaceAll .app.metadata.name "book" "BOOK" }}', "guestBOOK"),
        ("{{ call .strings.ToUpper .app.metadata.name }}", "GUESTBOOK"),
        ('{{ call .sync.GetInfoItem .app "reason" }}', "manual"),
        (
            '{{ (call .time.Parse .app.status.operationState.startedAt).Format "2006-01-02 15:04" }}',
            "2024-03-05 14:07",
        ),
        ('{{ call .repo.QueryEscape "a b" }}', "a+b"),
    ],
)
def test_template_helpers(text: str, expected: str) -> None:
    assert render(text, data(), funcs=sprig_funcs()) == expected


def test_missing_info_item_is_a_template_error() -> None:
    with pytest.raises(
        TemplateError, match="error calling call: application 'guestbook' has no info item"
    ):
        render('{{ call .sync.GetInfoItem .app "nope" }}', data(), name="t")


def test_trigger_condition_with_time() -> None:
    cond = "time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5"
    assert evaluate(cond, data()) is True
    assert evaluate("strings.ToUpper(app.metadata.name)", data()) == "GUESTBOOK"
