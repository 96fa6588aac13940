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


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@needs_database
def backup_command(file):
    """A full backup of the database to FILE (pg_dump custom format)."""
    from layers import backup

    try:
        size = backup.backup(db.engine(), current_app.config["DATABASE_URL"], file)
    except backup.BackupError as exc:
        _refuse(exc)
    click.echo(f"备份完成：{file}（{size / 1024 ** 2:.1f} MB）")


@db_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@needs_database
def restore_command(file):
    """Restore FILE (made by `db backup`) into an empty database, in one transaction."""
    from layers import backup

    try:
        entries = backup.restore(db.engine(), current_app.config["DATABASE_URL"], file)
    except backup.BackupError as exc:
        _refuse(exc)
    click.echo(f"恢复完成：{entries} 项，来自 {file}")


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
@users_cli.command("access-log")
@click.option("--user", help="only this viewer (user name)")
@click.option("--kind", type=click.Choice(["head", "grid_leader", "reporter", "roster_export",
                                           "ledger_export"]), help="only this kind of subject")
@click.option("--subject", type=int, help="only this subject id (head, grid or issue id)")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="from this day (Beijing time)")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@needs_database
def users_access_log(user, kind, subject, since, limit):
    """Who was shown which personal contact, and when (newest first)."""
    from layers import access_log

    rows = access_log.entries(user=user, kind=kind, subject=subject,
                              since=since.date() if since else None, limit=limit)
    for r in rows:
        subject_text = f"{r['subject_kind']} {r['subject_id']}" if r["subject_id"] is not None else \
            f"{r['subject_kind']} ×{r['contacts']} {r['detail'] or ''}"
        click.echo(f"{r['at']}  {r['user_name']} ({r['role']})  {r['route']}  {subject_text}")
    click.echo(f"{len(rows)} 条记录", err=True)


@db_cli.command("distribute")
@needs_database
def distribute_command():
    """Spread the database over a Citus cluster: reference, distributed and coordinator-only
    tables (docs/scaling.md). Run on the coordinator after `db upgrade`; safe to run again."""
    from layers import distribute

    try:
        changed = distribute.distribute(db.engine(), echo=click.echo)
    except distribute.DistributeError as exc:
        _refuse(exc)
    click.echo(f"{len(changed)} table(s) distributed; the database is spread over the Citus cluster "
               f"/ 已分布到 Citus 集群")
