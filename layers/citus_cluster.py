"""A Citus cluster on this machine: a coordinator and two workers, each a private PostgreSQL
cluster (layers/cluster.py) in its own folder, listening on localhost ports so the nodes can
reach one another. What `make test-citus` and the Citus bench run on (docs/scaling.md).

A database on it exists on every node under the same name (Citus connects to the workers'
database of the coordinator's name). A copy of a database is a copy on every node: the
coordinator's metadata and the workers' shards are copied together and stay consistent.
"""
import os
import shutil
import socket
import time
from pathlib import Path

import psycopg2

from layers.cluster import SUPERUSER, Cluster, ClusterError

BASE_PORT = int(os.environ.get("CITUS_BASE_PORT", "9700"))
SETTINGS = [
    "shared_preload_libraries = 'citus'",
    "listen_addresses = 'localhost'",
    "max_connections = 300",
    "max_prepared_transactions = 300",   # Citus commits multi-node writes in two phases
    "citus.shard_replication_factor = 1",
    "citus.max_cached_conns_per_worker = 4",
]


def free_base_port(start=9710, count=3):
    """The first port from ``start`` on with ``count`` free ports in a row on localhost."""
    port = start
    while port < 65000:
        if all(_free(p) for p in range(port, port + count)):
            return port
        port += count
    raise ClusterError("no free ports on localhost for the Citus nodes")


def _free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def installed():
    """Whether the Citus extension is installed into this machine's PostgreSQL."""
    bindir = Path(Cluster("/nonexistent").bindir)     # /usr/lib/postgresql/15/bin
    version = bindir.parent.name
    return ((bindir.parent / "lib" / "citus.so").exists()
            and Path(f"/usr/share/postgresql/{version}/extension/citus.control").exists())


class CitusCluster:
    def __init__(self, root, workers=2, base_port=BASE_PORT, throwaway=False):
        self.root = Path(root).resolve()
        self.coordinator = Cluster(self.root / "coordinator", throwaway=throwaway, port=base_port,
                                   settings=SETTINGS)
        self.workers = [Cluster(self.root / f"worker{n}", throwaway=throwaway, port=base_port + n,
                                settings=SETTINGS) for n in range(1, workers + 1)]

    @property
    def nodes(self):
        return [self.coordinator, *self.workers]

    @property
    def run_dir(self):
        return self.coordinator.run_dir

    def url_of(self, database):
        return self.coordinator.url_of(database)

    def start(self, echo=lambda *_: None):
        if not installed():
            raise ClusterError("Citus is not installed into PostgreSQL "
                               "(see docs/scaling.md: build it from CITUS_SRC)")
        for node in self.nodes:
            if node.start():
                echo(f"started {node.root.name} on port {node.port}")

    def stop(self):
        for node in self.nodes:
            node.stop()

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, node, sql, database="postgres"):
        conn = psycopg2.connect(dbname=database, user=SUPERUSER, host=str(node.run_dir), port=node.port)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def create_database(self, name):
        """A database on every node (made unless it is there), with Citus and PostGIS, and the
        workers added to the coordinator's metadata. Safe to call again."""
        for node in self.nodes:
            if not self.admin(node, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
                self.admin(node, f'CREATE DATABASE "{name}"')
            self.admin(node, "CREATE EXTENSION IF NOT EXISTS citus; CREATE EXTENSION IF NOT EXISTS postgis",
                       database=name)
        self.admin(self.coordinator,
                   f"SELECT citus_set_coordinator_host('localhost', {self.coordinator.port});"
                   + "".join(f"SELECT citus_add_node('localhost', {w.port});" for w in self.workers),
                   database=name)
        return self.url_of(name)

    def freeze(self, template):
        """Make ``template`` copyable on every node: no more connections to it, and the ones
        Citus keeps (its maintenance daemon, cached connections between nodes) closed."""
        for node in self.nodes:
            self.admin(node, f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false;'
                             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             f"WHERE datname = '{template}' AND pid <> pg_backend_pid()")

    def copy_database(self, template, name):
        """A copy of a frozen ``template`` on every node, the workers' first."""
        for node in [*self.workers, self.coordinator]:
            for attempt in range(50):
                try:
                    self.admin(node, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                    break
                except psycopg2.errors.ObjectInUse:   # a terminated backend still leaving
                    time.sleep(0.1)
            else:
                raise ClusterError(f"database {template} stays in use on {node.root.name}")
        return self.url_of(name)
