"""A field, variable or word that runs into a character no operand may end with: Go's error."""

from __future__ import annotations

import pytest

from shipway.templates.gotemplate import TemplateError, render


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ .foo%x }}", "template: t:1:7: bad character U+0025 '%'"),
        ("{{ $x% }}", "template: t:1:5: bad character U+0025 '%'"),
        ("{{ len% }}", "template: t:1:6: bad character U+0025 '%'"),
    ],
)
def test_bad_character_after_an_operand(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        render(text, {}, name="t")
    assert str(err.value) == message
