"""`make bench LOAD=1` (`python -m bench.load`): load with nothing lost. The sample subdistrict
in a throwaway PostGIS cluster, served by gunicorn as `make run` serves it, and 50 concurrent
Locust users for 60 s on loopback (bench/locustfile.py: map polls with ETags, lookups, layer
and tile reads, issue records with idempotency keys, a share retried, stage advances by three
roles racing on the same issues, Open311 reports).

Prints per kind of request: requests, failures, median and p95 (Locust's, counted from when
every user has started, so the sign-ins' password hashing at ramp-up is left out), then checks
the database: every record the server accepted is stored exactly once under its key, every
retry got the first answer's id, every accepted advance is in the log once. Exits non-zero on
a 5xx, a failed request, or anything lost or doubled.
"""
import argparse
import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench.cases import VIEW_H, VIEW_W, tile_of
from bench.server import ROOT, Server
from data import sample
from layers import migrate, users
from layers.cluster import Cluster
from layers.db import make_engine

PASSWORD = "load password 146"
READS = ("map poll (ETag)", "lookup", "layer read", "tile read", "issue read")
READ_P95_MS = 200


def arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--seconds", type=int, default=60, help="how long (default 60)")
    return parser.parse_args(argv)


def plan(eng, folder):
    """Accounts, an API key, a meeting and where to look, written for the locustfile."""
    with eng.begin() as conn:
        grid_id, grid, community_id, community = conn.execute(sa.text("""
            SELECT g.id, g.name, m.id, m.name FROM grid g JOIN community m ON m.id = g.community_id
             ORDER BY (SELECT count(*) FROM compound c WHERE c.grid_id = g.id) DESC, g.id LIMIT 1""")).one()
        points = conn.execute(sa.text("SELECT c.grid_id, ST_X(p), ST_Y(p) FROM compound c, "
                                      "ST_PointOnSurface(c.geom) p ORDER BY c.id")).all()
        open_issues = conn.execute(sa.text(
            "SELECT id FROM issue WHERE grid_id = :g AND stage NOT IN ('closed', 'rejected', 'merged') "
            "ORDER BY id"), {"g": grid_id}).scalars().all()
        meeting = conn.execute(sa.text("""
            INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count)
            SELECT vp.venue_id, vp.platform, current_date, '压测协商会', 10 FROM venue_platform vp
              JOIN venue v ON v.id = vp.venue_id WHERE v.community_id = :m ORDER BY 1 LIMIT 1
            RETURNING id"""), {"m": community_id}).scalar()
    accounts = {"grid_leader": ("load_grid", "grid_leader", f"{community}/{grid}"),
                "community_staff": ("load_staff", "community_staff", community),
                "admin": ("load_admin", "admin", None)}
    for name, role, area in accounts.values():
        users.add(name, role, PASSWORD, area, eng=eng)
    lon, lat = points[0][1], points[0][2]
    bbox = (lon - VIEW_W / 2, lat - VIEW_H / 2, lon + VIEW_W / 2, lat + VIEW_H / 2)
    body = {
        "password": PASSWORD, "accounts": {k: v[0] for k, v in accounts.items()},
        "api_key": users.add_api_key("load_open311", eng=eng), "meeting": meeting,
        "points": [[x, y] for _, x, y in points],
        "grid_points": [[x, y] for g, x, y in points if g == grid_id],
        "open_issues": list(open_issues) or [0],
        "bbox": ",".join(f"{v:.6f}" for v in bbox),
        "tiles": sorted({(z, *tile_of(x, y, z)) for _, x, y in points for z in (14, 15, 16)}),
    }
    path = folder / "plan.json"
    path.write_text(json.dumps(body, ensure_ascii=False))
    return path


def run_locust(port, plan_path, folder, users_, seconds):
    out = folder / "outcome.json"
    cmd = [str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench" / "locustfile.py"),
           "--headless", "--users", str(users_), "--spawn-rate", str(max(1, users_ // 5)),
           "--run-time", f"{seconds}s", "--stop-timeout", "10", "--reset-stats", "--host", f"http://127.0.0.1:{port}",
           "--csv", str(folder / "load"), "--only-summary", "--loglevel", "WARNING"]
    env = dict(os.environ, LOAD_PLAN=str(plan_path), LOAD_OUT=str(out))
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if not out.exists():
        raise RuntimeError(f"locust did not finish (exit {result.returncode}):\n{result.stderr[-3000:]}")
    with open(folder / "load_stats.csv") as f:
        stats = [row for row in csv.DictReader(f)]
    with open(folder / "load_failures.csv") as f:
        for row in csv.DictReader(f):
            print(f"failed: {row['Occurrences']} × {row['Method']} {row['Name']}: {row['Error']}")
    return stats, json.loads(out.read_text())


def verify(eng, outcome):
    """Problems found in the database, and what was checked (dict of counts)."""
    records, problems = outcome["records"], []
    with eng.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT key, issue_id FROM issue_request_key WHERE key = ANY(:k)"),
                                   {"k": list(records)}).all())
        ids = list(records.values())
        rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT id) FROM issue WHERE id = ANY(:i)"),
                            {"i": ids}).one()
        marked = conn.execute(sa.text("SELECT count(*) FROM issue WHERE title LIKE '压测诉求 %' "
                                      "OR description LIKE '压测 Open311 %'")).scalar()
        logged = {}
        for issue_id, to in outcome["advances"]:
            logged[(issue_id, to)] = conn.execute(sa.text(
                "SELECT count(*) FROM issue_event WHERE issue_id = :i AND to_stage = :t AND kind = 'stage'"),
                {"i": issue_id, "t": to}).scalar()
    missing = [k for k in records if k not in stored]
    wrong = [k for k in records if k in stored and stored[k] != records[k]]
    if missing:
        problems.append(f"{len(missing)} accepted records have no stored key")
    if wrong:
        problems.append(f"{len(wrong)} keys point at another issue than the one answered")
    if len(set(ids)) != len(ids):
        problems.append("two keys were answered with the same issue")
    if rows[0] != len(set(ids)):
        problems.append(f"{len(set(ids)) - rows[0]} accepted issues are not in the database")
    if marked != len(records):
        problems.append(f"{marked} load-test issues stored for {len(records)} accepted records")
    bad_replays = [r for r in outcome["replays"] if r[1] != r[2]]
    if bad_replays:
        problems.append(f"{len(bad_replays)} retries got another id than the first answer")
    doubled = {k: n for k, n in logged.items() if n != 1}
    if doubled:
        problems.append(f"{len(doubled)} accepted advances are logged other than once: {list(doubled)[:5]}")
    if outcome["double_advances"]:
        problems.append(f"{len(outcome['double_advances'])} retried advances were applied twice")
    if len(logged) != len(outcome["advances"]):
        problems.append("an advance was accepted twice for the same issue and stage")
    checked = {"records accepted": len(records), "stored once under their key": len(records) - len(missing) - len(wrong),
               "load-test issues in the database": marked, "retries answered with the first id":
               len(outcome["replays"]) - len(bad_replays), "advances accepted": len(outcome["advances"]),
               "advances logged exactly once": sum(1 for n in logged.values() if n == 1)}
    return problems, checked


def print_table(stats, statuses):
    columns = ["kind", "requests", "failures", "median ms", "p95 ms", "target"]
    rows = []
    for row in stats:
        if row["Name"] in ("Aggregated", "sign in"):
            continue
        target = f"p95 ≤ {READ_P95_MS} ms" if row["Name"] in READS else ""
        rows.append([row["Name"], row["Request Count"], row["Failure Count"], row["50%"], row["95%"], target])
    total = next(r for r in stats if r["Name"] == "Aggregated")
    rows.append(["all", total["Request Count"], total["Failure Count"], total["50%"], total["95%"], ""])
    widths = [max(len(str(r[i])) for r in [columns] + rows) for i in range(len(columns))]
    line = lambda r: " | ".join(str(v).ljust(w) if i in (0, 5) else str(v).rjust(w)
                                for i, (v, w) in enumerate(zip(r, widths)))
    print("\n" + line(columns))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print("\nHTTP statuses over the whole run: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))


def slow_reads(stats):
    return [r["Name"] for r in stats if r["Name"] in READS and r["95%"] not in ("N/A", "")
            and float(r["95%"]) > READ_P95_MS]


def main(argv=None):
    args = arguments(argv)
    folder = Path(tempfile.mkdtemp(prefix="pgload-", dir="/tmp"))
    cluster, server, eng = Cluster(folder, throwaway=True), None, None
    try:
        cluster.start()
        eng = make_engine(cluster.url)
        migrate.upgrade(eng, echo=lambda *_: None)
        print(sample.load(eng, progress=False).splitlines()[0])
        plan_path = plan(eng, folder)
        # Throughput and exactly-once are measured here, not the abuse limits (tests/test_limits.py):
        # a few accounts record hundreds of issues a minute, far above a person's 60 an hour.
        for name in ("ISSUE_LIMIT", "OPEN311_LIMIT"):
            os.environ.setdefault(name, "100000 per hour")
        server = Server(cluster.url, secrets.token_hex(16), folder / "gunicorn.log").wait()
        print(f"{args.users} Locust users for {args.seconds} s against gunicorn on 127.0.0.1:{server.port} "
              f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before) ...")
        stats, outcome = run_locust(server.port, plan_path, folder, args.users, args.seconds)
        print_table(stats, outcome["statuses"])
        print(f"load average {os.getloadavg()[0]:.1f} after (the machine is shared: other work shows in p95)")
        problems, checked = verify(eng, outcome)
        print("\nIn the database afterwards: " + "; ".join(f"{k}: {v}" for k, v in checked.items()))
        errors = sum(n for code, n in outcome["statuses"].items() if int(code) >= 500)
        failures = sum(outcome["failed"].values())
        if errors:
            problems.append(f"{errors} responses were 5xx")
        if failures:
            problems.append(f"{failures} requests failed: {outcome['failed']}")
        slow = slow_reads(stats)
        print("resent after a dropped kept-alive connection, as a browser does: "
              + (", ".join(f"{k} {v}" for k, v in outcome["resent"].items()) or "none"))
        print(f"reads over p95 {READ_P95_MS} ms: {', '.join(slow) if slow else 'none'}")
        if problems:
            print("FAILED: " + "; ".join(problems))
            errors_logged = [line for line in open(server.log.name) if not line.startswith("127.0.0.1 - ")]
            print("gunicorn log, less the access log (last lines):\n" + "".join(errors_logged[-40:]))
            print("PostgreSQL's errors:\n" + "".join(line for line in open(cluster.log) if "ERROR" in line
                                                      or "DETAIL" in line)[-4000:])
            return 1
        print("nothing lost, nothing stored twice, no 5xx")
        return 0
    finally:
        if server is not None:
            server.stop()
        if eng is not None:
            eng.dispose()
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
