"""Where each command lives: ``name → module:attribute``, imported only when used.

A command's module (and what it imports: the store, the engines) loads only
when that command runs, so ``shipway image build`` does not pay for SQLAlchemy
and Alembic. Each stage's CLI lives in its own module; add a line here.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "apply": "shipway.cli.resources:apply",
    "get": "shipway.cli.resources:get",
    "delete": "shipway.cli.resources:delete",
    "release": "shipway.cli.release:release",
    "ci": "shipway.cli.lists:ci",
    "image": "shipway.cli.image:image",
    "app": "shipway.cli.lists:app",
    "appset": "shipway.cli.appset:appset",
    "controller": "shipway.cli.controller:controller",
    "demo": "shipway.cli.demo:demo",
    "account": "shipway.cli.account:account",
    "login": "shipway.cli.login:login",
    "logout": "shipway.cli.login:logout",
    "hook": "shipway.cli.hooks:hook",
    "metrics": "shipway.cli.metrics:metrics",
    "warehouse": "shipway.cli.warehouse:warehouse",
    "promote": "shipway.cli.promote:promote",
    "preview": "shipway.cli.preview:preview",
    "approve": "shipway.cli.gates:approve",
    "stage": "shipway.cli.gates:stage",
    "promotion": "shipway.cli.gates:promotion",
    "migrate": "shipway.cli.migrate:migrate",
    "policy": "shipway.cli.policy:policy",
    "vuln": "shipway.cli.security_scan:vuln",
}

JOINS: dict[str, tuple[str, ...]] = {
    # the updater's ``image update``; ``image sbom|scan``; ``image sign|verify|attest|key``
    "image": ("shipway.cli.image_update", "shipway.cli.security_scan", "shipway.cli.image_sign"),
}


def load(name: str) -> click.Command | None:
    target = COMMANDS.get(name)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command)
    for extra in JOINS.get(name, ()):  # commands other modules add to this group
        importlib.import_module(extra).register()
    return command


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load(cmd_name)
