"""`db backup` and `db restore`: a restore into a fresh database holds the same rows and
geometry in every table; a non-empty database is refused and left as it was. On Citus
(`make test-citus`) the backup of the distributed database restores into a fresh one, which
`db distribute` then spreads again."""
import pytest
import sqlalchemy as sa

from app import create_app
from tests.conftest import CITUS

TABLES = """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1"""
GEOMETRY_COLUMNS = """SELECT f_table_name, f_geometry_column FROM geometry_columns
                       WHERE f_table_schema = 'public' ORDER BY 1, 2"""


def fingerprint(engine):
    """Per table: its row count, an md5 of its rows, and an md5 of each geometry column's EWKB
    (both in a fixed order, whatever the physical order after restore); and the sequences
    (the app's own: Citus keeps its shard counters in pg_catalog)."""
    with engine.connect() as conn:
        tables = conn.execute(sa.text(TABLES)).scalars().all()
        result = {t: conn.execute(sa.text(
            f'SELECT count(*), md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) FROM "{t}" x'
        )).one() for t in tables}
        for table, column in conn.execute(sa.text(GEOMETRY_COLUMNS)):
            result[f"{table}.{column}"] = conn.execute(sa.text(
                f'SELECT md5(coalesce(string_agg(encode(ST_AsEWKB("{column}"), \'hex\'), \',\' '
                f'ORDER BY encode(ST_AsEWKB("{column}"), \'hex\')), \'\')) FROM "{table}"')).scalar()
        result["sequences"] = conn.execute(sa.text(
            "SELECT json_object_agg(sequencename, last_value ORDER BY sequencename)::text FROM pg_sequences "
            "WHERE schemaname = 'public'")).scalar()
    return result


@pytest.fixture(scope="module")
def backup_file(runner, tmp_path_factory):
    path = tmp_path_factory.mktemp("backup") / "gridmap.dump"
    result = runner.invoke(args=["db", "backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "备份完成" in result.output
    return path


@pytest.fixture(scope="module")
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def fresh_app(empty_database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": empty_database})
    yield app
    app.extensions["gridmap_engine"].dispose()


def test_the_backup_is_pg_dump_custom_format(backup_file):
    assert backup_file.read_bytes()[:5] == b"PGDMP"


def test_restore_into_a_fresh_database_gives_the_same_tables(engine, backup_file, fresh_app):
    original = fingerprint(engine)
    assert original["compound"][0] == 62 and original["issue"][0] > 0
    assert "compound.geom" in original and "issue.geom" in original
    result = fresh_app.test_cli_runner().invoke(args=["db", "restore", str(backup_file)])
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output
    assert fingerprint(fresh_app.extensions["gridmap_engine"]) == original
    if CITUS:   # the backup of a distributed database restores as one node's: spread it again
        spread = fresh_app.test_cli_runner().invoke(args=["db", "distribute"])
        assert spread.exit_code == 0 and "43 table(s) distributed" in spread.output, spread.output
        assert fingerprint(fresh_app.extensions["gridmap_engine"]) == original


def test_restore_into_a_database_with_tables_is_refused(app, engine, backup_file):
    engine.dispose()
    before = fingerprint(engine)
    result = app.test_cli_runner().invoke(args=["db", "restore", str(backup_file)])
    assert result.exit_code == 1
    assert "目标数据库不是空的" in result.output and "只能恢复到空数据库" in result.output
    assert fingerprint(engine) == before


def test_a_file_that_is_not_a_backup_is_refused(tmp_path, cluster):
    from tests.conftest import _new_database

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "DATABASE_URL": _new_database(cluster, "template0")})
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump")
    result = app.test_cli_runner().invoke(args=["db", "restore", str(junk)])
    assert result.exit_code == 1 and "不是 pg_dump 自定义格式的备份文件" in result.output
    missing = app.test_cli_runner().invoke(args=["db", "restore", str(tmp_path / "none.dump")])
    assert missing.exit_code == 1 and "没有这个备份文件" in missing.output
    app.extensions["gridmap_engine"].dispose()
