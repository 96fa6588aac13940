"""Demo passwords: only in the owner-only file of their database, never in the output (which
service logs keep), and loading the sample into another database leaves the local file alone."""
import re
import stat

import pytest

from app import create_app
from layers import migrate, users
from layers.db import make_engine
from tests.conftest import _new_database
from webmap import serve


def passwords(path):
    """{name: password} of a demo accounts file."""
    return dict(line.split("\t")[::3] for line in path.read_text().splitlines()[1:])


def empty_app(cluster, var, **config):
    url = _new_database(cluster, "template0")
    eng = make_engine(url)
    migrate.upgrade(eng, echo=lambda *_: None)
    eng.dispose()
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "VAR": var, **config})


@pytest.fixture(scope="module")
def var(tmp_path_factory):
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="module")
def first(cluster, var):
    """The sample loaded by `flask sample load` into one database: its app and the output."""
    app = empty_app(cluster, var)
    result = app.test_cli_runner().invoke(args=["sample", "load"])
    assert result.exit_code == 0, result.output
    yield app, result.output
    app.extensions["gridmap_engine"].dispose()


def test_sample_load_prints_where_the_passwords_are_not_the_passwords(first):
    app, output = first
    path = app.config["DEMO_ACCOUNTS_FILE"]
    assert path.parent == app.config["VAR"] and stat.S_IMODE(path.stat().st_mode) == 0o600
    found = passwords(path)
    assert set(found) == {"demo_grid", "demo_staff", "demo_deputy", "demo_official", "demo_admin"}
    assert str(path) in output
    assert not [p for p in found.values() if p in output]
    with app.app_context():
        assert users.authenticate("demo_staff", found["demo_staff"]) is not None


def test_a_second_database_gets_its_own_file(cluster, var, first):
    app, _output = first
    path = app.config["DEMO_ACCOUNTS_FILE"]
    kept = path.read_text()
    other = empty_app(cluster, var)
    result = other.test_cli_runner().invoke(args=["sample", "load"])
    assert result.exit_code == 0, result.output
    other_path = other.config["DEMO_ACCOUNTS_FILE"]
    assert other_path != path and other_path.exists() and path.read_text() == kept
    assert re.fullmatch(r"demo-accounts-[A-Za-z0-9._-]+\.txt", other_path.name)
    with app.app_context():   # the first map's passwords still work
        assert users.authenticate("demo_admin", passwords(path)["demo_admin"]) is not None
    other.extensions["gridmap_engine"].dispose()


def test_make_run_prints_no_password(cluster, var, capsys):
    app = empty_app(cluster, var)
    serve.prepare(app)
    out = capsys.readouterr().out
    path = app.config["DEMO_ACCOUNTS_FILE"]
    assert str(path) in out and not [p for p in passwords(path).values() if p in out]
    serve.prepare(app)   # a later start names the file again, still without a password
    out = capsys.readouterr().out
    assert str(path) in out and not [p for p in passwords(path).values() if p in out]
    app.extensions["gridmap_engine"].dispose()


def test_the_local_cluster_keeps_the_documented_file(tmp_path):
    from app import demo_accounts_file

    assert demo_accounts_file(tmp_path, "postgresql://postgres@/gridmap?host=/x", True) == tmp_path / "demo-accounts.txt"
    assert demo_accounts_file(tmp_path, "postgresql://u:secret@db.example:5433/city", False).name == \
        "demo-accounts-db.example-5433-city.txt"
