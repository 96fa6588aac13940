"""`make bench` (`python -m bench`): the sample and, beside it, a synthetic city (2,000
compounds, 10^5 issues) in a throwaway PostGIS cluster; `make bench CITY=1` (`--city`):
a city at full scale (50,000 compounds, 10^6 issues). `make bench CITUS=1` (`--citus`): the
same rows on one node and on a Citus coordinator with two workers (the same city, distributed
by `db distribute`), side by side, with the shards each row's queries run on.

The production server (gunicorn, as `make run` starts it) serves the cluster on a free
loopback port, and every row of issue 9's target table is timed over real HTTP: median and
p95 over the rounds, next to the same route's read queries run raw on one connection in the
same run (bench/raw.py) and their ratio, since these machines are shared and noisy. Prints a
table; writes nothing outside its temp folder. Every figure is measured in this run.
"""
import argparse
import secrets
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from app import create_app
from bench import cases, ogc
from bench.raw import Floor, Recorder
from bench.server import Server
from data import sample, synth
from layers import distribute, migrate
from layers.citus_cluster import CitusCluster, free_base_port
from layers.cluster import Cluster
from layers.db import make_engine

SIZES = {False: (2_000, 100_000), True: (50_000, 1_000_000)}
COLUMNS = ["what", "median ms", "p95 ms", "raw ms", "ratio", "bytes", "target"]
SIDE_COLUMNS = ["what", "one node ms", "p95", "Citus ms", "p95", "Citus / one", "Citus runs on", "target"]


def arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", action="store_true", help="full city scale: 50,000 compounds, 10^6 issues")
    parser.add_argument("--compounds", type=int, help="compounds of the synthetic city")
    parser.add_argument("--issues", type=int, help="issues of the synthetic city")
    parser.add_argument("--rounds", type=int, default=20, help="timed requests per row (default 20)")
    parser.add_argument("--citus", action="store_true",
                        help="one node and a Citus coordinator with two workers, side by side")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    default_compounds, default_issues = SIZES[args.city]
    args.compounds = args.compounds or default_compounds
    args.issues = default_issues if args.issues is None else args.issues
    return args


def _width(text):
    """Columns ``text`` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def print_table(rows, columns=COLUMNS, cells=lambda row: row.cells()):
    cells = [columns] + [cells(row) for row in rows]
    widths = [max(_width(c[i]) for c in cells) for i in range(len(columns))]
    pad = lambda v, w, left: (v + " " * (w - _width(v))) if left else (" " * (w - _width(v)) + v)
    line = lambda c: " | ".join(pad(v, w, i in (0, len(columns) - 1)) for i, (v, w) in enumerate(zip(c, widths)))
    print("\n" + line(cells[0]))
    print("-|-".join("-" * w for w in widths))
    for c in cells[1:]:
        print(line(c))


def side_by_side(pair):
    one, citus = pair
    ms = lambda s: "" if s is None else f"{s * 1000:,.1f}"
    p95 = lambda r: ms(float(cases.np.percentile(r.seconds, 95))) if r.seconds else ""
    if not one.seconds or not citus.seconds or "n/a" in (one.note, citus.note):
        return [one.what, ms(one.median(one.seconds)), p95(one), ms(citus.median(citus.seconds)), p95(citus),
                "", "", one.target]
    a, b = one.median(one.seconds), citus.median(citus.seconds)
    what = one.what + (f"  [{citus.note}]" if citus.note else "")
    shards = {None: "", 0: "coordinator", 1: "1 shard"}.get(citus.shards, f"{citus.shards} shards")
    return [what, ms(a), p95(one), ms(b), p95(citus), f"{b / a:.1f}", shards, one.target]


def main(argv=None):
    args = arguments(argv)
    if not args.citus:
        rows, about = run(args, citus=False)
        print(about)
        print_table(rows)
        return
    one, about = run(args, citus=False)
    spread, _ = run(args, citus=True)
    print(about.replace("gunicorn on", "gunicorn (one node, then the Citus coordinator) on"))
    print("Citus: a coordinator and two workers on this machine (32 shards, by community_id); "
          "runs on: the most shards one of the row's queries is sent to (EXPLAIN's Task Count).")
    print_table(list(zip(one, spread)), SIDE_COLUMNS, side_by_side)


def run(args, citus):
    """The bench's rows on one fresh node, or on a fresh Citus cluster; and what they mean."""
    root = Path(tempfile.mkdtemp(prefix="pgbench-", dir="/tmp"))
    cluster = CitusCluster(root, throwaway=True, base_port=free_base_port()) if citus else Cluster(root, throwaway=True)
    server = floor = app = eng = None
    try:
        cluster.start()
        url = cluster.create_database("gridmap") if citus else cluster.url
        print("Citus: a coordinator and two workers" if citus else "one node", flush=True)
        eng = make_engine(url)
        migrate.upgrade(eng, echo=lambda *_: None)
        print(sample.load(eng, progress=False).splitlines()[0])
        started = time.perf_counter()
        print(synth.load(eng, args.compounds, args.issues, progress=True))
        load = cases.Row(f"synth city --compounds {args.compounds} --issues {args.issues}", "≤ 60 s",
                         seconds=[time.perf_counter() - started])
        if citus:
            started = time.perf_counter()
            distribute.distribute(eng, echo=lambda *_: None)
            print(f"db distribute: {time.perf_counter() - started:.1f} s", flush=True)
        accounts = cases.create_users(eng)

        secret = secrets.token_hex(16)
        server = Server(url, secret, root / "gunicorn.log").wait()
        app = create_app({"SECRET_KEY": secret, "DATABASE_URL": url})
        floor = Floor(url)
        place = cases.places(floor, args.rounds)
        bench = cases.Bench(server.port, Recorder(app), floor, args.rounds,
                            {None: (None, "public"), **accounts}, citus=citus)
        rows = (cases.measure(bench, place, accounts) + [load] + cases.measure_tiles(bench, place)
                + ogc.measure(bench, place, cluster, root, peer=not citus)
                # the hotspot statistics alone run in Python, the same on either: one node only
                + ([] if citus else cases.statistic_rows(floor)))
        about = (f"\n{args.rounds} rounds a row over HTTP/1.1 keep-alive to gunicorn on 127.0.0.1:{server.port}; "
                 f"street bbox {place['bbox']}\n(a zoom-16 view around the compound with most open issues, "
                 f"id {place['compound']}). raw: the read queries the route runs, recorded in-process and\n"
                 "replayed on one psycopg2 connection with jit off (median); ratio = median / raw. Rounds that ask "
                 "for another\ncompound or tile each are set beside each one's own queries; a cached tile beside "
                 "making it afresh.")
        return rows, about
    except Exception:
        if server is not None:
            print("gunicorn log (last lines):\n" + "".join(open(server.log.name).readlines()[-30:]))
        raise
    finally:
        if floor is not None:
            floor.close()
        if server is not None:
            server.stop()
        for engine in (app and app.extensions["gridmap_engine"], eng):
            if engine is not None:
                engine.dispose()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
