"""The floor under each route: the read queries the route itself runs, recorded by sending the
same request through the same code in-process (Flask's test client on the same database),
then replayed on one psycopg2 connection with JIT off, every row fetched. So the raw figure
needs no copy of a route's SQL here and stays true when a route changes."""
import re
import time

import psycopg2
import sqlalchemy as sa

from bench.server import CSRF

READ = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)


class Recorder:
    """Records the read statements an in-process request runs on ``app``'s engine."""

    def __init__(self, app):
        self.app = app
        self.statements = None
        sa.event.listen(app.extensions["gridmap_engine"], "before_cursor_execute", self._executed)

    def _executed(self, _conn, cursor, statement, parameters, _context, _many):
        if self.statements is None or not READ.match(statement) or WRITE.search(statement):
            return
        try:
            self.statements.append(cursor.mogrify(statement, parameters).decode())
        except (TypeError, psycopg2.ProgrammingError):
            pass    # SQLAlchemy's catalog look-ups for pandas, whose parameters it renders later

    def client(self, name=None, password=None):
        """A test client, signed in as ``name`` when given."""
        client = self.app.test_client()
        if name:
            token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
            response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
            if response.status_code != 302:
                raise RuntimeError(f"in-process login as {name} failed: HTTP {response.status_code}")
        return client

    def queries(self, client, path, headers=None):
        """(status, [statement with its parameters bound]) of one request."""
        self.statements = []
        try:
            status = client.get(path, headers=headers or {}).status_code
            return status, self.statements
        finally:
            self.statements = None


class Floor:
    """One psycopg2 connection, JIT off (as the app's gateway runs its queries)."""

    def __init__(self, url):
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SET jit = off")

    def seconds(self, statements):
        """How long running ``statements`` in turn takes, fetching all their rows."""
        started = time.perf_counter()
        with self.conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
                if cur.description:
                    cur.fetchall()
        return time.perf_counter() - started

    def shards(self, statements):
        """On Citus: the most shards one of ``statements`` runs on, from its plan (Citus's
        "Task Count"); 0 when they read only reference tables or the coordinator's own."""
        most = 0
        with self.conn.cursor() as cur:
            for statement in statements:
                cur.execute("EXPLAIN (FORMAT JSON) " + statement)
                most = max(most, _task_count(cur.fetchone()[0]))
        return most

    def execute(self, sql, parameters=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, parameters)
            return cur.fetchall() if cur.description else None

    def close(self):
        self.conn.close()


def _task_count(plan):
    if isinstance(plan, dict):
        own = plan.get("Task Count", 0)
        return max([own, *(_task_count(v) for v in plan.values())])
    if isinstance(plan, list):
        return max([0, *(_task_count(v) for v in plan)])
    return 0
