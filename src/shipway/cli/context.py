"""Shared CLI state: settings and a lazily opened store."""

from __future__ import annotations

import click

from shipway import settings as settings_mod
from shipway.store.db import Store, open_store


class CLIState:
    def __init__(self) -> None:
        self.settings = settings_mod.load()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
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
