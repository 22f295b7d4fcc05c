"""Talking to a controller's API instead of the local store (after ``shipway login``).

A command is remote when it is given ``--server URL`` (or ``$SHIPWAY_SERVER``)
or a context is current in the CLI config, unless ``shipway --core`` (or
``$SHIPWAY_CORE=1``) says to use the local store. The token is
``$SHIPWAY_AUTH_TOKEN``, else the context's. HTTP statuses become the error
tree: 401 ``UnauthenticatedError``, 403 ``PermissionDeniedError``, 404
``NotFoundError``, 409 ``ConflictError``, 400/422 ``InputError``, others and
connection failures ``ExternalError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from shipway.cli import config
from shipway.model.errors import (
    ConflictError,
    ExternalError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ShipwayError,
    UnauthenticatedError,
)

if TYPE_CHECKING:
    import httpx

F = TypeVar("F", bound=Callable[..., Any])


def server_option(func: F) -> F:
    """``--server URL``: run this command through that controller's API."""
    return click.option(
        "--server",
        envvar="SHIPWAY_SERVER",
        default=None,
        help="Controller URL to run this through (default: the `shipway login` context).",
    )(func)


def normalise(url: str, plaintext: bool = False) -> str:
    """``host:port`` → ``https://host:port`` (``http://`` with ``plaintext``), as argocd."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = ("http://" if plaintext else "https://") + url
    return url


@dataclass(frozen=True)
class Target:
    """The controller a remote command talks to, and how."""

    server: str
    token: str
    user: str = ""
    verify: bool | str = True

    def client(self, timeout: float = 30.0) -> httpx.Client:
        import ssl

        import httpx  # loads only when a command talks to a controller

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        verify: bool | ssl.SSLContext = self.verify if isinstance(self.verify, bool) else (
            ssl.create_default_context(cafile=self.verify))  # fmt: skip
        return httpx.Client(base_url=self.server, headers=headers, verify=verify,
                            timeout=timeout)  # fmt: skip


def core(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("core")) or os.environ.get("SHIPWAY_CORE", "") in ("1", "true")


def target(ctx: click.Context, server: str | None = None) -> Target | None:
    """Where this command goes: a controller, or None for the local store."""
    if core(ctx):
        return None
    cfg = config.load()
    found = cfg.find(server) or cfg.find(normalise(server)) if server else cfg.current_context()
    url = normalise(server) if server else (found.server if found else "")
    if not url:
        return None
    token = os.environ.get("SHIPWAY_AUTH_TOKEN", "") or (found.auth_token if found else "")
    if not token:
        raise UnauthenticatedError(f"not logged in: shipway login {url}", subject=url)
    verify: bool | str = True
    if found is not None:
        verify = False if found.insecure else (found.server_crt or True)
    return Target(url, token, found.user if found else "", verify)


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip() or resp.reason_phrase
    if isinstance(body, dict):
        detail = body.get("error") or body.get("detail")
        if isinstance(detail, list):  # FastAPI's validation errors
            return "; ".join(str(d.get("msg", d)) for d in detail if isinstance(d, dict))
        return str(detail or body)
    return str(body)


def check(resp: httpx.Response, subject: str) -> httpx.Response:
    """``resp`` when it succeeded, else the error its status stands for."""
    if resp.is_success:
        return resp
    msg, code = _message(resp), resp.status_code
    errors: dict[int, type[ShipwayError]] = {401: UnauthenticatedError, 403: PermissionDeniedError,
                                             404: NotFoundError, 409: ConflictError,
                                             400: InputError, 422: InputError}  # fmt: skip
    raise errors.get(code, ExternalError)(msg if code in errors else f"HTTP {code}: {msg}",
                                          subject=subject)  # fmt: skip


def call(t: Target, method: str, path: str, **kwargs: Any) -> httpx.Response:
    import httpx

    try:
        with t.client() as c:
            return check(c.request(method, path, **kwargs), t.server)
    except httpx.HTTPError as exc:
        raise ExternalError(f"cannot reach the controller: {exc}", subject=t.server) from None


def get_json(t: Target, path: str, **params: Any) -> Any:
    clean = {k: v for k, v in params.items() if v is not None}
    return call(t, "GET", path, params=clean).json()


def refuse_local(ctx: click.Context, server: str) -> InputError:
    """The error for a command that only works on the local store, run while remote."""
    from shipway.cli.context import command_names

    name = " ".join(command_names(ctx))
    return InputError(
        f"'shipway {name}' works on the local store only, and this CLI talks to {server} "
        f"(shipway login): run it on the controller's host as 'shipway --core {name}', "
        "or 'shipway logout' first",
        subject=f"shipway {name}",
    )
