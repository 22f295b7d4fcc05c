"""Where each command lives: ``name → module:attribute``, imported only when used.

A command's module (and what it imports: the store, the engines) loads only
when that command runs, so ``shipway image build`` does not pay for SQLAlchemy
and Alembic. Each stage's CLI lives in its own module; add a line here.

``SuggestingGroup`` (the base of every shipway group) answers a mistyped
command as kubectl does: ``error: unknown command "gett" for "shipway"`` and
``Did you mean this?`` with the closest commands (difflib), exit 2.
"""

from __future__ import annotations

import importlib

import click

from shipway.model.errors import InputError

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
    "refresh": "shipway.cli.warehouse:refresh_group",
    "promote": "shipway.cli.promote:promote",
    "preview": "shipway.cli.preview:preview",
    "approve": "shipway.cli.gates:approve",
    "stage": "shipway.cli.gates:stage",
    "promotion": "shipway.cli.gates:promotion",
    "migrate": "shipway.cli.migrate:migrate",
    "policy": "shipway.cli.policy:policy",
    "vuln": "shipway.cli.security_scan:vuln",
    "describe": "shipway.cli.describe:describe",
    "completion": "shipway.cli.complete:completion",
}

SUMMARIES: dict[str, str] = {
    "account": "Local accounts, API tokens and permission checks (argocd account).",
    "app": "Argo CD Applications: diff, sync, health, history and rollback.",
    "apply": "Validate resources and store them (created / configured / unchanged).",
    "approve": (
        "Approve Freight for a Stage (it may then be promoted there without "
        "verification upstream). A Stage's approval policy may ask for several "
        "approvers, roles, and no self-approval (exit 6 when refused). Through a "
        "controller the approver is the logged-in account."
    ),
    "appset": "Argo CD ApplicationSets: generate Applications from generators and a template.",
    "ci": "Run CI workflows (GitHub Actions syntax) and read stored runs.",
    "completion": "Print the shell completion script: source <(shipway completion bash).",
    "controller": "Receive git and registry events and drive CI, image updates and syncs.",
    "delete": "Remove a stored resource.",
    "demo": "Ship commits of a sample app through CI, registry, config repo and podman, for real.",
    "describe": "Show an object in detail, its events at the end (as kubectl describe).",
    "get": "Show stored resources of KIND, or the one named NAME.",
    "hook": "Hook credentials and the git post-receive hook.",
    "image": "Build, push, copy and inspect OCI images; list tags; log in to registries.",
    "login": "Log in to a controller; later commands go through its API.",
    "logout": "Log out of a context (default: the current one): its token is forgotten.",
    "metrics": "Delivery metrics computed from the release records.",
    "migrate": "Upgrade the database schema to the newest migration (no-op when already there).",
    "policy": "Manifest policies: conftest-style Rego, and kube-linter's default checks.",
    "preview": "Preview environments of pull requests (ApplicationSets with shipway.dev/previews).",
    "promote": "Promote Freight to a Stage.",
    "promotion": "Act on Kargo Promotions.",
    "refresh": "Ask for a refresh of a Kargo Warehouse or Stage, as ``kargo refresh``.",
    "release": "Release records: commit → CI run → image → config commit → live revision.",
    "stage": "Act on Kargo Stages.",
    "vuln": "The offline vulnerability database (OSV records).",
    "warehouse": "Kargo Warehouses: discovery of images and commits into Freight.",
}
"""Each command's help, its first paragraph: what ``shipway --help`` lists, without importing
every command's module for it (a test keeps these equal to the commands' own help)."""

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


def suggestions(word: str, known: list[str]) -> list[str]:
    """The commands ``word`` may be a typo of, closest first (kubectl suggests within 2 edits)."""
    import difflib  # only on a typo

    close = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    prefixed = [k for k in known if k.startswith(word) and k not in close] if word else []
    return close + prefixed[:3]


class SuggestingGroup(click.Group):
    """A group that answers an unknown command with the ones it may be a typo of."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0])
        missing = self.get_command(ctx, name) is None and not ctx.resilient_parsing
        if missing and not name.startswith("-"):
            raise unknown_command(name, ctx.command_path, self.list_commands(ctx))
        return super().resolve_command(ctx, args)


def unknown_command(name: str, path: str, known: list[str]) -> InputError:
    """kubectl's message for a mistyped command, with what it may be a typo of."""
    text = f'unknown command "{name}" for "{path}"'
    close = suggestions(name, known)
    if close:
        text += "\n\nDid you mean this?\n" + "".join(f"\t{c}\n" for c in close)
    text += f"\nRun '{path} --help' for usage."
    return InputError(text)


class LazyGroup(SuggestingGroup):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, as click lists them, from ``SUMMARIES``."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        # a stand-in command of that help shortens it exactly as the command would
        rows = [(n, click.Command(n, help=SUMMARIES[n]).get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
