"""The list of stage command groups; each stage's CLI lives in its own module."""

from __future__ import annotations

import click


def commands() -> list[click.Command]:
    found: list[click.Command] = []
    from shipway.cli.ci import ci

    found.append(ci)
    from shipway.cli import image_update

    found += image_update.register()
    from shipway.cli.image import image

    found.append(image)
    from shipway.cli.app import app

    found.append(app)
    return found
