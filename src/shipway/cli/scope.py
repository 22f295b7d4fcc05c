"""``-n/--namespace`` (``--project``, as Kargo's CLI says), ``-A``, and the current namespace.

The current namespace is ``$SHIPWAY_NAMESPACE``, else the ``namespace`` of the
CLI config's current context (``shipway.cli.config``), else ``default``. It is
what a namespaced kind without a fixed default (``shipway.model.namespaces``)
gets; Argo CD's kinds stay in ``argocd`` unless ``-n`` says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from shipway.cli import optspec
from shipway.model import namespaces

F = TypeVar("F", bound=Callable[..., Any])


def namespace_option(func: F) -> F:
    """``-n/--namespace/--project``, completed with the namespaces that exist."""
    from shipway.cli import complete

    return optspec.click_option(optspec.NAMESPACE, shell_complete=complete.namespace_names)(func)


def all_namespaces_option(func: F) -> F:
    """``-A/--all-namespaces``."""
    return optspec.click_option(optspec.ALL_NAMESPACES)(func)


def kind_form(func: F) -> F:
    """``KIND [NAME] -n NS -A -l SELECTOR``, as ``get`` and ``describe`` (kubectl's) take them,
    KIND and NAME completed from the store."""
    import click

    from shipway.cli import complete
    from shipway.cli.output import selector_option

    func = namespace_option(all_namespaces_option(selector_option(func)))
    func = click.argument("name", required=False, shell_complete=complete.names)(func)
    return click.argument("kind", shell_complete=complete.kinds)(func)


def current() -> str:
    """The current namespace: ``$SHIPWAY_NAMESPACE``, the context's, else ``default``."""
    env = os.environ.get("SHIPWAY_NAMESPACE")
    if env:
        return env
    from shipway.cli import config

    found = config.load().current_context()
    return (found.namespace if found else "") or namespaces.DEFAULT


def for_kind(kind: str, name: str, namespace: str | None) -> str:
    """The namespace ``get``/``delete`` look in: ``-n``, else the kind's default."""
    if not namespaces.namespaced(kind):
        return ""
    return namespace or namespaces.default_namespace(kind, name, current())
