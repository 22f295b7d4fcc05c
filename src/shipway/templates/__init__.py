"""Template and expression languages of the tools shipway reads as-is.

Pure: no I/O. Two languages, written once and shared by every area:

- ``shipway.templates.gotemplate``: Go's ``text/template`` with a sprig subset,
  as Argo CD notification templates and ApplicationSet ``goTemplate`` use it.
- ``shipway.templates.exprlang``: expr-lang, as Kargo ``${{ }}`` expressions and
  Argo CD notification trigger conditions (``when``, ``oncePer``) use it.
- ``shipway.templates.gotime``: Go's ``time.Time`` and ``time.Duration`` values
  (layouts, methods), which both languages hand to user templates.

Errors are ``TemplateError`` and ``ExprError`` (both ``InputError``s); no other
exception leaves these packages for any template or expression text.
"""

from shipway.templates.errors import ExprError, TemplateError

__all__ = ["ExprError", "TemplateError"]
