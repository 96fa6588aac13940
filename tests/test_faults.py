"""Database faults against a real PostgreSQL: a cluster of this module's own (the suite's
shared one is never stopped), restarted under a serving app, made read-only, made to refuse a
write as a full disk would. Only what was in flight fails, with a 503 that says why; the same
app object serves again afterwards; no response ever carries a trace or SQL."""
import shutil
import tempfile
import threading
import time
import uuid

import psycopg2
import pytest

from app import create_app
from layers import migrate
from layers.cluster import DB_NAME, Cluster
from layers.db import make_engine
from tests.helpers import add_user, login

LEAKS = ("Traceback", "SELECT", "INSERT", "UPDATE ", "psycopg2", "sqlalchemy", "File \"", "postgres",
         "socket", "pgcode", "Error:")
V2 = "/open311/v2"


@pytest.fixture(scope="module")
def own_cluster():
    from data import sample

    root = tempfile.mkdtemp(prefix="pgfault-", dir="/tmp")
    pg = Cluster(root, throwaway=True)
    pg.start()
    eng = make_engine(pg.url)
    migrate.upgrade(eng, echo=lambda *_: None)
    sample.load(eng, progress=False)
    eng.dispose()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fault_app(own_cluster):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": own_cluster.url})
    add_user(app, "f_staff", "community_staff", "汇丰社区")
    yield app
    app.extensions["gridmap_engine"].dispose()


def admin(cluster, sql):
    conn = psycopg2.connect(dbname="postgres", user="postgres", host=str(cluster.run_dir))
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def in_database(cluster, sql):
    conn = psycopg2.connect(dbname=DB_NAME, user="postgres", host=str(cluster.run_dir),
                            options="-c default_transaction_read_only=off")
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def drop_app_connections(cluster):
    """Cut the app's pooled connections, as a failover or a restart would."""
    admin(cluster, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   f"WHERE datname = '{DB_NAME}' AND pid <> pg_backend_pid()")


def assert_clean(response):
    text = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in text, (leak, text)


def inside(cluster):
    return in_database(cluster, "SELECT ST_X(p), ST_Y(p) FROM compound c JOIN community m ON m.id = "
                                "c.community_id, ST_PointOnSurface(c.geom) p WHERE m.name = '汇丰社区' "
                                "ORDER BY c.id LIMIT 1")[0]


def record(client, point, title):
    return client.post("/api/issues", json={"title": title, "category": "utilities", "channel": "home_visit",
                                            "lon": point[0], "lat": point[1]},
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def issues_titled(cluster, title):
    return in_database(cluster, f"SELECT count(*) FROM issue WHERE title = '{title}'")[0][0]


READS = ["/healthz", "/api/layers/compounds.geojson", "/api/lookup?lon={lon}&lat={lat}",
         f"{V2}/services.json", "/api/choices"]


def test_restart_under_load_fails_only_in_flight_requests(fault_app, own_cluster):
    """Clients keep reading while PostgreSQL stops and starts again: every answer is a 200
    or a 503 (none a 500), and once it is back every answer is a 200, from the same app."""
    lon, lat = inside(own_cluster)
    paths = [p.format(lon=lon, lat=lat) for p in READS]
    answers, stop = [], threading.Event()

    def keep_reading(n):
        client = fault_app.test_client()
        while not stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            response = client.get(path)
            answers.append((time.monotonic(), path, response.status_code, response.get_data(as_text=True)))

    readers = [threading.Thread(target=keep_reading, args=(i,)) for i in range(4)]
    [t.start() for t in readers]
    try:
        time.sleep(1)
        own_cluster.stop()
        down_at = time.monotonic()
        time.sleep(1.5)
        own_cluster.start()
        up_at = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        [t.join() for t in readers]
    statuses = {status for _, _, status, _ in answers}
    assert statuses <= {200, 503}, [a[1:3] for a in answers if a[2] not in (200, 503)]
    assert any(s == 503 for t, _, s, _ in answers if down_at < t < up_at), "no request saw the outage"
    after = [a for a in answers if a[0] > up_at + 0.5]
    assert after and all(status == 200 for _, _, status, _ in after), [a[1:3] for a in after if a[2] != 200]
    for _, path, status, body in answers:
        if status == 503:
            assert "数据库" in body, (path, body)
        for leak in LEAKS:
            assert leak not in body, (path, leak, body)


def test_database_down_is_a_503_that_says_so(fault_app, own_cluster):
    client = fault_app.test_client()
    assert client.get("/api/layers/compounds.geojson").status_code == 200
    own_cluster.stop()
    try:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"status": "unavailable", "reason": "数据库不可用，请稍后再试"}
        layer = client.get("/api/layers/compounds.geojson")
        assert layer.status_code == 503 and layer.get_json() == {"error": "数据库不可用，请稍后再试"}
        assert layer.headers["Retry-After"]
        page = client.get("/")
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert "数据库不可用" in page.get_data(as_text=True)
        english = fault_app.test_client().get("/?lang=en")
        assert english.status_code == 503 and "Database unavailable" in english.get_data(as_text=True)
        assert '<html lang="en"' in english.get_data(as_text=True)
        open311 = client.get(f"{V2}/requests.json")
        assert open311.status_code == 503
        assert open311.get_json() == [{"code": 503, "description": "数据库不可用，请稍后再试"}]
        login_page = client.post("/login", data={"name": "f_staff", "password": "x"})
        assert login_page.status_code in (400, 503)  # no CSRF token: refused before the database
        for response in (health, layer, page, english, open311, login_page):
            assert_clean(response)
    finally:
        own_cluster.start()
    # the same app, no restart: the pool's dead connections are noticed and replaced
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/layers/compounds.geojson").status_code == 200
    assert client.get("/").status_code == 200


def test_signed_in_user_during_an_outage(fault_app, own_cluster):
    staff = login(fault_app.test_client(), "f_staff")
    point = inside(own_cluster)
    title = f"停机时登记 {uuid.uuid4().hex[:6]}"
    own_cluster.stop()
    try:
        refused = record(staff, point, title)
        assert refused.status_code == 503 and refused.get_json()["error"] == "数据库不可用，请稍后再试"
        area = staff.get("/api/my-area")
        assert area.status_code == 503
        assert_clean(refused)
        assert_clean(area)
    finally:
        own_cluster.start()
    assert issues_titled(own_cluster, title) == 0
    assert record(staff, point, title).status_code == 201  # still signed in: the session survived
    assert issues_titled(own_cluster, title) == 1


def test_read_only_database_refuses_writes_and_serves_reads(fault_app, own_cluster):
    staff = login(fault_app.test_client(), "f_staff")   # signing in writes: before read-only
    client = fault_app.test_client()
    point = inside(own_cluster)
    title = f"只读时登记 {uuid.uuid4().hex[:6]}"
    issue_id = record(staff, point, "只读前登记").get_json()["id"]
    in_database(own_cluster, f"ALTER DATABASE {DB_NAME} SET default_transaction_read_only = on")
    drop_app_connections(own_cluster)
    try:
        # reads go on, signed in or not
        for response in (client.get("/api/layers/compounds.geojson"), client.get("/"),
                         staff.get("/api/my-area"), staff.get(f"/api/issues/{issue_id}"),
                         client.get(f"{V2}/requests.json")):
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        # writes are refused with a message
        refused = record(staff, point, title)
        assert refused.status_code == 503
        assert refused.get_json()["error"] == "数据库当前只读：可以查看，暂不能保存修改，请稍后再试"
        english = staff.post("/api/issues?lang=en", json={"title": title, "category": "utilities",
                                                         "channel": "home_visit", "lon": point[0], "lat": point[1]})
        assert english.status_code == 503 and "read-only" in english.get_json()["error"]
        version = staff.get(f"/api/issues/{issue_id}").get_json()["version"]
        advance = staff.post(f"/api/issues/{issue_id}/advance", json={"to": "topic", "version": version})
        assert advance.status_code == 503
        for response in (refused, english, advance):
            assert_clean(response)
    finally:
        in_database(own_cluster, f"ALTER DATABASE {DB_NAME} RESET default_transaction_read_only")
        drop_app_connections(own_cluster)
    assert issues_titled(own_cluster, title) == 0
    assert record(staff, point, title).status_code == 201


def test_a_full_disk_refuses_writes_and_serves_reads(fault_app, own_cluster):
    """PostgreSQL's own disk_full error (SQLSTATE 53100), raised by a trigger on the issue
    table, as a write into a full tablespace raises it."""
    staff = login(fault_app.test_client(), "f_staff")
    point = inside(own_cluster)
    title = f"磁盘满时登记 {uuid.uuid4().hex[:6]}"
    in_database(own_cluster, """
        CREATE FUNCTION pretend_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'
              USING ERRCODE = 'disk_full'; END $$;
        CREATE TRIGGER pretend_disk_full BEFORE INSERT ON issue
            FOR EACH ROW EXECUTE FUNCTION pretend_disk_full();""")
    try:
        refused = record(staff, point, title)
        assert refused.status_code == 503
        assert refused.get_json()["error"] == "数据库存储空间已满：可以查看，暂不能保存修改，请联系管理员"
        assert_clean(refused)
        assert staff.get("/api/my-area").status_code == 200
        assert staff.get("/api/layers/compounds.geojson").status_code == 200
    finally:
        in_database(own_cluster, "DROP TRIGGER pretend_disk_full ON issue; DROP FUNCTION pretend_disk_full()")
    assert issues_titled(own_cluster, title) == 0
    assert record(staff, point, title).status_code == 201
