"""Fixtures: one throwaway PostGIS cluster for the whole run (started with the same code as
`make run`), a template database migrated and loaded with the sample subdistrict, and a
fresh copy of it for every test module that asks for one.

With GRIDMAP_CITUS=1 (`make test-citus`) the cluster is a Citus coordinator with two workers
(layers/citus_cluster.py) and the template is distributed (`db distribute`) before it is copied."""
import functools
import os
import shutil
import tempfile
import time
import uuid

import psycopg2
import pytest

from app import create_app
from layers import migrate
from layers.db import make_engine
from layers.citus_cluster import CitusCluster, free_base_port
from layers.cluster import Cluster

TEMPLATE = "gridmap_template"
CITUS = os.environ.get("GRIDMAP_CITUS") == "1"


@pytest.fixture(scope="session")
def cluster():
    root = tempfile.mkdtemp(prefix="pgtest-", dir="/tmp")
    if CITUS:
        pg = CitusCluster(root, throwaway=True, base_port=free_base_port())
    else:
        pg = Cluster(root, throwaway=True)
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


def _admin(cluster, sql):
    node = cluster.coordinator if CITUS else cluster
    conn = psycopg2.connect(dbname="postgres", user="postgres", host=str(node.run_dir), port=node.port)
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def _url(cluster, name):
    return cluster.url_of(name)


@pytest.fixture(scope="session")
def template_db(cluster):
    """A database migrated and holding the sample subdistrict, copied by `database`."""
    from data import sample

    if CITUS:
        from layers import distribute

        eng = make_engine(cluster.create_database(TEMPLATE))
    else:
        _admin(cluster, f'CREATE DATABASE "{TEMPLATE}"')
        eng = make_engine(_url(cluster, TEMPLATE))
    migrate.upgrade(eng, echo=lambda *_: None)
    sample.load(eng, progress=False)
    if CITUS:
        distribute.distribute(eng, echo=lambda *_: None)
    eng.dispose()
    if CITUS:
        cluster.freeze(TEMPLATE)
    return TEMPLATE


def _new_database(cluster, template):
    """A new database: a copy of ``template``, or an empty one from template0 (on Citus: an
    empty Citus database with the workers added, nothing distributed)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    if CITUS:
        if template == "template0":
            return cluster.create_database(name)
        return cluster.copy_database(template, name)
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
    # Abuse limits off: tests sign in and record issues many times; tests/test_limits.py
    # checks the limits with their default settings.
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database,
                      "RATELIMIT_ENABLED": False})
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


@pytest.fixture(scope="module")
def live_server(app):
    """The app served over real HTTP on a free localhost port, for the browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _wait_for_function(page, expression, arg=None, timeout=None, polling=None):
    """``page.wait_for_function`` that works under the app's CSP: Playwright's own polls with
    eval inside the page, which a policy without 'unsafe-eval' refuses; this polls through
    ``page.evaluate`` (DevTools), and returns the truthy value. Like Playwright's, it outlives
    navigations: an evaluation that fails while a page loads is tried again."""
    from playwright.sync_api import Error
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + (30_000 if timeout is None else timeout) / 1000
    while True:
        try:
            value, failure = page.evaluate(expression, arg), None
        except Error as exc:
            value, failure = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(f"wait_for_function: not true after {timeout} ms: {expression}"
                                    + (f" (last error: {failure})" if failure else ""))
        page.wait_for_timeout(polling if isinstance(polling, (int, float)) else 50)


class PageProblems(list):
    """Failed requests, console errors and page errors seen by a page."""


DESK = {"width": 1280, "height": 800}


@pytest.fixture
def new_page(browser, live_server):
    """Opens fresh pages that may only talk to the live server: every other request is blocked
    and recorded in ``page.problems``, as are console errors, page errors and failed requests.
    ``touch`` makes a phone (touch screen, mobile viewport); ``geolocation`` grants a position.
    Each page's context is closed at teardown."""
    contexts = []

    def open_page(viewport=DESK, touch=False, geolocation=None, locale="zh-CN"):
        context = browser.new_context(viewport=viewport, locale=locale, has_touch=touch, is_mobile=touch,
                                      geolocation=geolocation,
                                      permissions=["geolocation"] if geolocation else [])
        contexts.append(context)
        problems = PageProblems()

        def route(r):
            if r.request.url.startswith(live_server) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                problems.append(f"blocked off-site request: {r.request.url}")
                r.abort()

        context.route("**/*", route)
        pg = context.new_page()
        pg.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # A load the next navigation cancels (a font still arriving as a link is followed) is
        # ERR_ABORTED, not a fault of the page; a missing file is a 404 (below), a refusal another error.
        pg.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "") and problems.append(
            f"failed: {r.url} {r.failure}"))
        pg.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        pg.problems = problems
        pg.base = live_server
        pg.wait_for_function = functools.partial(_wait_for_function, pg)
        return pg

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh desk page (see ``new_page``)."""
    return new_page()
