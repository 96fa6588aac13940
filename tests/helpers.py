"""Shared by the tests: query helpers, the pattern of a mobile number, signing in through the real login form (with its
CSRF token) from the Flask test client or from Chromium, and the texts a dashboard chart drew."""
import re

import sqlalchemy as sa

from layers import users

PASSWORD = "correct horse 146"
# A mainland mobile number standing alone (not inside a longer run of digits or an id).
PHONE = re.compile(r"(?<![0-9A-Za-z_.])1[3-9]\d{9}(?!\d)")


def q(engine, sql, **params):
    """All rows of ``sql``."""
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def rows(engine, sql, **params):
    """All rows of ``sql`` as dicts."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


def scalar(engine, sql, **params):
    """The first column of the first row of ``sql``."""
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def csrf_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf[_-]token" (?:value|content)="([^"]+)"', page).group(1)


def login(client, name, password=PASSWORD):
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/login")
    return client


def add_user(app, name, role, area=None):
    with app.app_context():
        return users.add(name, role, PASSWORD, area)


def browser_login(page, name, password=PASSWORD, next_path=None):
    """Sign in with the login form in Chromium (then the app redirects to ``next_path`` or /)."""
    page.goto(page.base + "/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def open_issues(engine, compound_id):
    """Open issues of a compound, as the state kept by the database says (compound_state)."""
    return q(engine, "SELECT open_issues FROM compound_state WHERE compound_id = :c", c=compound_id)[0][0]


def public_ledger_app(database):
    """An app with the issue ledger opened to everyone (``PUBLIC_LEDGER``), for the modules that
    read the list and its exports as the public would; yields it, then closes its engine."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database, "PUBLIC_LEDGER": True})
    yield app
    app.extensions["gridmap_engine"].dispose()


# The texts each chart drew on its canvas (ECharts' scene: zrender's text spans), in the
# canvas' pixels, with the canvas' size.
CHART_TEXTS = """() => [...document.querySelectorAll('.chart .canvas[data-drawn]')].map(el => ({
  id: el.id, width: el.clientWidth, height: el.clientHeight,
  texts: echarts.getInstanceByDom(el).getZr().storage.getDisplayList(true)
    .filter(d => d.type === 'tspan' && d.style && d.style.text && !d.ignore && !d.invisible)
    .map(d => { const r = d.getBoundingRect().clone(); if (d.transform) r.applyTransform(d.transform);
                return {text: d.style.text, x: r.x, y: r.y, w: r.width, h: r.height,
                        size: parseFloat(/(\\d+(\\.\\d+)?)px/.exec(d.style.font || '')[1])}; })
}))"""


def overlap(a, b):
    """Whether two of those texts' boxes overlap."""
    return (min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > 0.5
            and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > 0.5)
