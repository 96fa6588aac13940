"""Fixtures: one throwaway PostGIS cluster for the whole run (started with the same code as
`make run`), a template database migrated and loaded with the sample subdistrict, and a
fresh copy of it for every test module that asks for one."""
import shutil
import tempfile
import uuid

import psycopg2
import pytest

from app import create_app
from layers import migrate
from layers.db import make_engine
from layers.cluster import Cluster

TEMPLATE = "gridmap_template"


@pytest.fixture(scope="session")
def cluster():
    root = tempfile.mkdtemp(prefix="pgtest-", dir="/tmp")
    pg = Cluster(root, throwaway=True)
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


def _admin(cluster, sql):
    conn = psycopg2.connect(dbname="postgres", user="postgres", host=str(cluster.run_dir))
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def _url(cluster, name):
    return f"postgresql://postgres@/{name}?host={cluster.run_dir}"


@pytest.fixture(scope="session")
def template_db(cluster):
    """A database migrated and holding the sample subdistrict, copied by `database`."""
    from data import sample

    _admin(cluster, f'CREATE DATABASE "{TEMPLATE}"')
    eng = make_engine(_url(cluster, TEMPLATE))
    migrate.upgrade(eng, echo=lambda *_: None)
    sample.load(eng, progress=False)
    eng.dispose()
    return TEMPLATE


def _new_database(cluster, template):
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(cluster, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _url(cluster, name)


@pytest.fixture(scope="module")
def database(cluster, template_db):
    """A private copy of the sample database for one test module."""
    return _new_database(cluster, template_db)


@pytest.fixture(scope="module")
def empty_database(cluster):
    """A private empty database (no schema) for one test module."""
    return _new_database(cluster, "template0")


@pytest.fixture(scope="module")
def app(database):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database})
    yield app
    app.extensions["gridmap_engine"].dispose()


@pytest.fixture(scope="module")
def engine(app):
    return app.extensions["gridmap_engine"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
