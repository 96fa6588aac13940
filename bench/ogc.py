"""Issue 11's speed row: a bbox page of 1,000 issues from /ogc, beside its raw SQL and beside a
peer, tipg (FastAPI + asyncpg, the OGC API server of developmentseed), asking the same pages
of the same database in the same run.

Each round asks another box (the first one moved by a few metres), so each is counted and
found afresh, as for a GIS client panning. tipg is asked for comparable properties (its
default is every column of the table) and the same page size; it is started from its own venv
(var/bench-peer, pinned by the Makefile), and the row says n/a when that venv is missing.
"""
import gzip
import json
from pathlib import Path

from bench.cases import Row
from bench.server import ROOT, Client, Served
from layers.cluster import DB_NAME

PEER_PYTHON = ROOT / "var" / "bench-peer" / "bin" / "python"
PAGE = 1_000
PEER_PROPERTIES = "id,stage,category,community_id,title,reported_at,stage_changed_at,closed_at"


def bbox_with(floor, lon, lat, least):
    """A square around (lon, lat) grown until it holds at least ``least`` issues."""
    side = 0.005
    while side < 1:
        box = (lon - side, lat - side, lon + side, lat + side)
        if floor.execute("SELECT count(*) FROM issue WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                         box)[0][0] >= least:
            break
        side *= 1.5
    return box


def boxes(box, rounds):
    """``rounds`` boxes, each the first moved east by another 10 m or so."""
    step = 1e-4
    return [",".join(f"{v:.6f}" for v in (box[0] + i * step, box[1], box[2] + i * step, box[3]))
            for i in range(rounds)]


class Peer(Served):
    """tipg on a free loopback port, over the bench cluster's socket."""
    name, probe = "tipg", "/collections"

    def __init__(self, socket_dir, dbname, log_path):
        self.start(lambda port: [str(PEER_PYTHON), str(Path(__file__).with_name("peer_tipg.py")), str(port),
                                 str(socket_dir), dbname], log_path)


def measure(b, place, cluster, root, peer=True):
    """The /ogc row and the peer's row (``peer``: on one node only)."""
    box = bbox_with(b.floor, place["lon"], place["lat"], 2 * PAGE)
    warm, *paths = [f"/ogc/collections/issues/items?limit={PAGE}&bbox={bbox}" for bbox in boxes(box, b.rounds + 1)]
    ours = Row(f"/ogc issues, a bbox page of {PAGE:,}", "≤ 1.5× raw, ahead of the peer")
    client = b.client()
    client.get(warm)    # a first connection (another box: each timed one is counted afresh)
    replies = b.timed(ours, lambda i: client.get(paths[i]))
    b.raw_each(ours, paths)
    last = replies[-1]
    body = gzip.decompress(last.body) if last.headers.get("content-encoding") == "gzip" else last.body
    if last.status == 200 and json.loads(body)["numberReturned"] != PAGE:
        ours.note = "pages not full"
    row = Row(f"  tipg 1.6.1, the same pages ({len(PEER_PROPERTIES.split(','))} properties)", "")
    if not peer or not PEER_PYTHON.exists():
        row.note = "n/a"
        return [ours, row]
    server = Peer(cluster.run_dir, DB_NAME, root / "tipg.log").wait()
    try:
        them = Client(server.port)
        peer_paths = [f"/collections/public.issue/items?limit={PAGE}&bbox={p.split('bbox=')[1]}"
                      f"&properties={PEER_PROPERTIES}" for p in paths]
        them.get(peer_paths[0].replace(paths[0].split("bbox=")[1], warm.split("bbox=")[1]))
        b.timed(row, lambda i: them.get(peer_paths[i]))
        row.raw = ours.raw     # beside the same floor: how far each server is above it
    finally:
        server.stop()
    return [ours, row]
