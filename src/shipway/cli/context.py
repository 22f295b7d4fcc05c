"""Shared CLI state: settings and a lazily opened store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shipway import settings as settings_mod

if TYPE_CHECKING:
    from shipway.store.db import Store


class CLIState:
    def __init__(self) -> None:
        self.settings = settings_mod.load()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from shipway.store.db import open_store  # SQLAlchemy and Alembic load only here

            self._store = open_store(self.settings)
        return self._store


def state_from(ctx: click.Context) -> CLIState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CLIState):
        obj = CLIState()
        ctx.find_root().obj = obj
    return obj


def store_from(ctx: click.Context) -> Store:
    return state_from(ctx).store
