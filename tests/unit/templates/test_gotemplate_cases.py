"""The documented-behaviour table of Go text/template, run against shipway's implementation."""

from __future__ import annotations

from typing import Any

import pytest
from tpl_gocases import CASES, MISSINGKEY_ERROR

from shipway.templates.gotemplate import TemplateError, render


@pytest.mark.parametrize(("text", "data", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_case(text: str, data: Any, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError) as err:
            render(text, data, name="t")
        assert str(err.value).startswith("template: t")
    else:
        assert render(text, data, name="t") == expected


@pytest.mark.parametrize(("text", "data", "expected"), MISSINGKEY_ERROR)
def test_missingkey_error(text: str, data: Any, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError):
            render(text, data, name="t", missingkey="error")
    else:
        assert render(text, data, name="t", missingkey="error") == expected
