"""tipg (developmentseed's OGC API – Features and Tiles server for PostGIS, FastAPI + asyncpg),
served on a loopback port as the peer `make bench` measures side by side with /ogc.

Run with the peer's own venv (var/bench-peer, `make bench` installs it: its pins differ from
the app's): ``python bench/peer_tipg.py PORT SOCKET_DIR DBNAME``. tipg takes its database as a
URL with a host name; the bench cluster listens on a Unix socket only, so asyncpg is given the
socket directory as its host.
"""
import os
import sys

import asyncpg

port, socket_dir, dbname = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.environ.update(DATABASE_URL=f"postgresql://postgres@localhost/{dbname}",
                  TIPG_DB_SCHEMAS='["public"]', TIPG_DB_TABLES='["public.issue", "public.compound"]', TIPG_DB_FUNCTIONS='[]',
                  TIPG_MAX_FEATURES_PER_QUERY="10000")
_create_pool = asyncpg.create_pool


def create_pool(dsn=None, **kwargs):
    return _create_pool(dsn, host=socket_dir, **kwargs)


asyncpg.create_pool = create_pool

import uvicorn  # noqa: E402  (after the patch: tipg reads asyncpg.create_pool at connect time)

uvicorn.run("tipg.main:app", host="127.0.0.1", port=port, log_level="warning", workers=1)
