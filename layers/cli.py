"""`flask db …`: the database's commands, and the one way CLI commands reach the database."""
import functools
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from layers import db, migrate, users
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


users_cli = AppGroup("users", help="User accounts.")
apikeys_cli = AppGroup("apikeys", help="API keys for Open311 clients and GIS tools (OGC API).")


def _read_password():
    if sys.stdin.isatty():
        return click.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


def _refuse(exc):
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@users_cli.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--area", help="区、街道 (区/街道)、社区或网格 (社区/网格)，多个用逗号分隔 "
                             "(district, subdistrict, community or grid names, comma-separated)")
@needs_database
def users_add(name, role, area):
    """Add a user; the password is read from stdin."""
    try:
        users.add(name, role, _read_password(), area)
    except users.UserError as exc:
        _refuse(exc)
    click.echo(f"已添加用户 {name}（{role}）")


@users_cli.command("disable")
@click.argument("name")
@needs_database
def users_disable(name):
    """Disable a user; their sessions end at once."""
    try:
        users.disable(name)
    except users.UserError as exc:
        _refuse(exc)
    click.echo(f"已停用用户 {name}")


@apikeys_cli.command("add")
@click.argument("name")
@click.option("--area", help="读取范围，同 users add --area；不给则只读公开字段 "
                             "(the area the key reads in full, as users add --area; none: public fields only)")
@click.option("--whole", is_flag=True, help="读取全辖区 (read the whole installation in full)")
@needs_database
def apikeys_add(name, area, whole):
    """Create an API key and print it once (only its hash is stored)."""
    try:
        click.echo(users.add_api_key(name, area, whole))
    except users.UserError as exc:
        _refuse(exc)


@apikeys_cli.command("list")
@needs_database
def apikeys_list():
    """The API keys: name, area, created, disabled (never the keys themselves)."""
    for k in users.api_keys():
        area = "全辖区 (whole)" if k["whole"] else (k["area"] or "公开 (public)")
        state = "  已停用 (disabled)" if k["disabled"] else ""
        click.echo(f"{k['name']}\t{area}\t{k['created_at']:%Y-%m-%d}{state}")


@apikeys_cli.command("disable")
@click.argument("name")
@needs_database
def apikeys_disable(name):
    """Disable an API key at once."""
    try:
        users.disable_api_key(name)
    except users.UserError as exc:
        _refuse(exc)
    click.echo(f"已停用 API key {name}")
