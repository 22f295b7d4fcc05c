"""The errors of the template and expression languages.

Pure. ``str()`` of each is the message in its peer tool's own words (Go's
``template: name:line:col: ...``; expr-lang's ``message (line:col)`` with a
snippet), so a user can search for it; the parts are attributes as well.
"""

from __future__ import annotations

from shipway.model.errors import InputError


class TemplateError(InputError):
    """A Go template failed to parse or to execute.

    ``template`` is the template's name, ``line`` 1-based, ``column`` the byte
    offset in that line as Go prints it (0-based), ``phase`` "parse" or "exec".
    """

    def __init__(self, message: str, *, template: str, line: int, column: int, phase: str) -> None:
        super().__init__(message)
        self.subject = f"template {template}"
        self.template = template
        self.line = line
        self.column = column
        self.phase = phase

    def __str__(self) -> str:
        return self.message


class ExprError(InputError):
    """An expr-lang expression failed to compile or to evaluate.

    ``reason`` is the bare message; ``line`` and ``column`` are 1-based;
    ``str()`` is expr-lang's format with the source line and a caret.
    """

    def __init__(self, reason: str, *, source: str = "", pos: int | None = None) -> None:
        self.reason = reason
        self.source = source
        self.pos = pos
        line = column = None
        text = reason
        if pos is not None:
            before = source[:pos]
            line = before.count("\n") + 1
            start = before.rfind("\n") + 1
            column = pos - start + 1
            end = source.find("\n", start)
            src_line = source[start : end if end >= 0 else len(source)]
            text = f"{reason} ({line}:{column})\n | {src_line}\n | {'.' * (column - 1)}^"
        super().__init__(text)
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return self.message


class JSONPathError(InputError):
    """A kubectl JSONPath template failed to parse or to execute.

    ``str()`` is kubectl's own wording: ``error parsing jsonpath TEMPLATE, REASON``
    or ``error executing jsonpath "TEMPLATE": REASON``; ``reason`` is the bare
    reason, ``template`` the text, ``phase`` "parse" or "exec".
    """

    def __init__(self, reason: str, *, template: str, phase: str) -> None:
        if phase == "parse":
            text = f"error parsing jsonpath {template}, {reason}"
        else:
            text = f'error executing jsonpath "{template}": {reason}'
        super().__init__(text)
        self.subject = None
        self.reason = reason
        self.template = template
        self.phase = phase

    def __str__(self) -> str:
        return self.message
