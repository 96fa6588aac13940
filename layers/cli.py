"""`flask db …`: the database's commands, and the one way CLI commands reach the database."""
import functools
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from layers import db, migrate
from layers.cluster import ClusterError


def needs_database(command):
    """Start the embedded cluster when there is no DATABASE_URL, then check the database;
    on failure print one clear line and exit non-zero."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        embedded = current_app.config.get("EMBEDDED_CLUSTER")
        try:
            if embedded is not None and embedded.start():
                click.echo(f"started the local PostGIS cluster in {embedded.root}", err=True)
            db.check(db.engine())
        except (ClusterError, db.DatabaseUnavailable) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        return command(*args, **kwargs)
    return wrapper


db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
@needs_database
def upgrade_command():
    """Apply pending migrations (safe to run again)."""
    applied = migrate.upgrade(db.engine(), echo=click.echo)
    click.echo(f"{len(applied)} migration(s) applied; schema is up to date")
