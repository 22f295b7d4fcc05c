"""Commit message templates: placeholders and the Flux Go-template subset."""

from __future__ import annotations

import pytest

from shipway.model.errors import InputError
from shipway.updater.template import ChangeData, Data, render

DATA = Data(
    automation="flux-system/auto",
    images=["r/a:1.1", "r/b:2.0"],
    files=["x.yaml"],
    changes=[ChangeData("r/a:1.0", "r/a:1.1", "flux-system:a")],
    apps=["web"],
    tags=["1.1", "2.0"],
)


def test_placeholders() -> None:
    assert render("bump {images} in {apps} ({tags}) {unknown}", DATA) == (
        "bump r/a:1.1, r/b:2.0 in web (1.1, 2.0) {unknown}"
    )


def test_flux_forms() -> None:
    tpl = (
        "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\n"
        "Images:\n{{ range .Updated.Images -}}\n- {{.}}\n{{ end -}}\n"
        "Changes:\n{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }}\n{{ end }}"
    )
    assert render(tpl, DATA) == (
        "Automated image update\n\nAutomation name: flux-system/auto\n\n"
        "Images:\n- r/a:1.1\n- r/b:2.0\nChanges:\nr/a:1.0 -> r/a:1.1\n"
    )
    assert render("{{range .Updated.Images}}{{println .}}{{end}}", DATA) == "r/a:1.1\nr/b:2.0\n"


@pytest.mark.parametrize(
    "tpl",
    ["{{ .Nope }}", "{{ range .Other }}x{{ end }}", "{{ range .Updated.Images }}x", "{{ if . }}"],
)
def test_unsupported_actions_are_errors(tpl: str) -> None:
    with pytest.raises(InputError):
        render(tpl, DATA, subject="auto")
