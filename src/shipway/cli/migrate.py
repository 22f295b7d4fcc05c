"""``shipway migrate``: bring the store's schema to this shipway's revision.

Write paths and ``shipway controller`` migrate by themselves; list commands
only read, and ask for this when the database is at an older revision.
May touch: the database.
"""

from __future__ import annotations

import click

from shipway.cli.context import state_from


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Upgrade the database schema to the newest migration (no-op when already there)."""
    from sqlalchemy import text

    from shipway.store.db import open_store
    from shipway.store.reads import HEAD

    store = open_store(state_from(ctx).settings)
    try:
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        store.close()
    click.echo(f"database schema at revision {version} (head {HEAD})")
