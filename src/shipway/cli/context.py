"""Shared CLI state: settings, a lazily opened store, and a reader for list commands.

``store`` brings the schema to head (write paths); ``reader`` only checks the
schema version and reads (``shipway.store.reads``), so listing loads neither
Alembic nor, on SQLite, SQLAlchemy.

While the CLI talks to a controller (``shipway login``, ``--server``), opening
the local store is refused for every command but those that run on this
machine by nature (``LOCAL_COMMANDS``), so a command that has no API route
says so instead of quietly changing a local database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shipway import settings as settings_mod

if TYPE_CHECKING:
    from shipway.store.db import Store
    from shipway.store.reads import Reader

LOCAL_COMMANDS = frozenset({"controller", "demo", "login", "logout", "migrate"})


class CLIState:
    def __init__(self) -> None:
        self.settings = settings_mod.load()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            _refuse_when_remote()
            from shipway.store.db import open_store  # SQLAlchemy and Alembic load only here

            self._store = open_store(self.settings)
        return self._store

    @property
    def reader(self) -> Reader:
        """For list commands: the store read as it is (schema checked, never migrated)."""
        _refuse_when_remote()
        from shipway.store import reads

        if self._store is not None:
            return reads.engine_reader(self._store.engine)
        return reads.open_reader(self.settings)


def _refuse_when_remote() -> None:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    names = command_names(ctx)
    if names and names[0] in LOCAL_COMMANDS:
        return
    from shipway.cli import remote

    server = ctx.params.get("server")
    found = remote.target(ctx, server if isinstance(server, str) else None)
    if found is not None:
        raise remote.refuse_local(ctx, found.server)


def command_names(ctx: click.Context) -> list[str]:
    """``["ci", "approve"]`` for ``shipway ci approve``, however the CLI was started."""
    names: list[str] = []
    node: click.Context | None = ctx
    while node is not None and node.parent is not None:
        names.insert(0, node.info_name or "")
        node = node.parent
    return names


def state_from(ctx: click.Context) -> CLIState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CLIState):
        obj = CLIState()
        ctx.find_root().obj = obj
    return obj


def store_from(ctx: click.Context) -> Store:
    return state_from(ctx).store


def reader_from(ctx: click.Context) -> Reader:
    return state_from(ctx).reader
