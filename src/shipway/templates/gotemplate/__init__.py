"""Go's text/template, as documented at pkg.go.dev/text/template, plus sprig.

Pure: no I/O. Use::

    t = Template("msg", funcs=sprig_funcs()).option("missingkey=error")
    t.parse("Application {{.app.metadata.name}} is {{.app.status.sync.status}}")
    text = t.execute({"app": app})

or ``render(text, data)`` for one shot. ``funcs`` adds (or overrides) functions
by name; the builtins are always there. Parse and execution errors are
``TemplateError`` with Go's message (``template: msg:1:5: ...``); line is
1-based and the column is the byte offset in the line, as Go prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates.errors import TemplateError
from shipway.templates.gotemplate.exec import MISSING, FuncError, Limits, State, Tree
from shipway.templates.gotemplate.funcs_builtin import BUILTINS
from shipway.templates.gotemplate.parser import parse

__all__ = [
    "MISSING",
    "FuncError",
    "Limits",
    "Template",
    "TemplateError",
    "render",
    "sprig_funcs",
]

_MISSINGKEY = {"default": "default", "invalid": "default", "zero": "zero", "error": "error"}


class Template:
    """A named template and the set of templates it can call (``define``/``block``)."""

    def __init__(
        self,
        name: str,
        *,
        funcs: Mapping[str, Callable[..., Any]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.name = name
        self.funcs: dict[str, Callable[..., Any]] = dict(BUILTINS)
        if funcs:
            self.funcs.update(funcs)
        self.limits = limits or Limits()
        self.missingkey = "default"
        self.left, self.right = "{{", "}}"
        self.trees: dict[str, Tree] = {}

    def option(self, *opts: str) -> Template:
        """Go's ``Option``: ``missingkey=default|invalid|zero|error``."""
        for opt in opts:
            key, _, value = opt.partition("=")
            if key != "missingkey" or value not in _MISSINGKEY:
                raise ValueError(f"unrecognized option: {opt}")
            self.missingkey = _MISSINGKEY[value]
        return self

    def delims(self, left: str, right: str) -> Template:
        self.left, self.right = left or "{{", right or "}}"
        return self

    def parse(self, text: str) -> Template:
        """Parse ``text`` as this template's body; its definitions join the set."""
        for name, root in parse(self.name, text, self.funcs, self.left, self.right).items():
            self.trees[name] = Tree(name, root, self.name, text)
        return self

    def lookup(self, name: str) -> bool:
        return name in self.trees

    def defined_templates(self) -> list[str]:
        return sorted(self.trees)

    def execute(self, data: Any = None) -> str:
        return self.execute_template(self.name, data)

    def execute_template(self, name: str, data: Any = None) -> str:
        tree = self.trees.get(name)
        if tree is None:
            msg = f'template: no template "{name}" associated with template "{self.name}"'
            if name == self.name:
                msg = f'template: {name}: "{name}" is an incomplete or empty template'
            raise TemplateError(msg, template=name, line=0, column=0, phase="exec")
        return State(self.trees, self.funcs, self.missingkey, self.limits).run(tree, data)


def sprig_funcs() -> dict[str, Callable[..., Any]]:
    """The sprig functions Argo CD documents (``env`` and ``expandenv`` left out)."""
    from shipway.templates.gotemplate.funcs_sprig import SPRIG
    from shipway.templates.gotemplate.funcs_sprig_crypto import CRYPTO
    from shipway.templates.gotemplate.funcs_sprig_extra import EXTRA

    out = {**CRYPTO, **EXTRA, **SPRIG}
    out["must_date_modify"] = out["mustDateModify"]
    return out


def render(
    text: str,
    data: Any = None,
    *,
    name: str = "",
    funcs: Mapping[str, Callable[..., Any]] | None = None,
    missingkey: str = "default",
    limits: Limits | None = None,
) -> str:
    """Parse and execute ``text`` once."""
    t = Template(name, funcs=funcs, limits=limits).option(f"missingkey={missingkey}")
    return t.parse(text).execute(data)
