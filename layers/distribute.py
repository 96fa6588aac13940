"""`flask db distribute`: spread a migrated database over a Citus cluster (docs/scaling.md).

Run on the coordinator, after `db upgrade` (and, if wanted, `sample load`: the rows are moved
to the workers as each table is distributed). Safe to run again: a table Citus already knows
is left as it is, and the per-node data version sequences are only ever moved forward.
"""
import sqlalchemy as sa

from layers import migrate

# Small or rarely written, joined to everything: a full copy on every node. In foreign-key
# order (a reference table may point only at reference tables).
REFERENCE = [
    "stage", "category", "channel", "platform", "head_role", "user_role",
    "district", "subdistrict", "community", "grid", "compound", "building", "unit",
    "head", "head_event", "self_governance_org", "venue", "venue_platform", "deputy",
    "deputy_community", "meeting",
    "app_user", "user_area", "api_key", "api_key_area",
]
# What grows with the history, and the state its triggers keep: by community_id, co-located
# with issue, so that all rows of one community are on one shard group on one worker.
DISTRIBUTED = [
    "issue", "issue_event", "issue_photo", "issue_reporter", "meeting_issue",
    "compound_state", "grid_state", "community_state", "issue_tally", "issue_month",
    "patrol", "patrol_photo", "patrol_issue", "patrol_state",
]
KEY = "community_id"
# Idempotency keys are looked up by the key alone: distributed by it, co-located with nothing.
BY_OWN_KEY = {"issue_request_key": "key"}
# Read and written by the coordinator only (sessions, the access log that reads write, search).
LOCAL = ["user_session", "personal_data_access", "place_search"]

# Foreign keys Citus refuses (docs/scaling.md §3.2): they may cross communities, hence shards.
# The workflow checks a merge target and the patrol code the issue in their own transactions.
DROP_KEYS = {"issue_merged_into_fkey", "patrol_issue_issue_community_id_issue_id_fkey"}


class DistributeError(RuntimeError):
    """The database cannot be distributed; the message says why and what to do."""


def citus_version(conn):
    return conn.execute(sa.text("SELECT extversion FROM pg_extension WHERE extname = 'citus'")).scalar()


def _check(conn):
    if citus_version(conn) is None:
        raise DistributeError(
            "this database is plain PostgreSQL, not a Citus coordinator: the citus extension is not "
            "installed (see docs/scaling.md) / 此数据库不是 Citus 协调节点，未安装 citus 扩展")
    if migrate.pending(conn):
        raise DistributeError("the schema is not up to date: run `flask --app app db upgrade` first "
                              "/ 请先运行 db upgrade")
    groups = {r[0] for r in conn.execute(sa.text(
        "SELECT groupid FROM pg_dist_node WHERE noderole = 'primary' AND isactive"))}
    if 0 not in groups:
        raise DistributeError("the coordinator is not in Citus's metadata: run "
                              "SELECT citus_set_coordinator_host('<host>', <port>) on it first "
                              "/ 请先登记协调节点")
    if not groups - {0}:
        raise DistributeError("the cluster has no worker: add them with "
                              "SELECT citus_add_node('<host>', <port>) / 请先添加工作节点")


def _placed(conn):
    """{table: what Citus made of it}: 'distributed', 'reference' or 'local' (to the coordinator;
    Citus also makes a table local by itself when it points at a new reference table)."""
    return dict(conn.execute(sa.text("""
        SELECT logicalrelid::regclass::text,
               CASE WHEN partmethod = 'h' THEN 'distributed'
                    WHEN repmodel = 't' THEN 'reference' ELSE 'local' END
          FROM pg_dist_partition""")).all())


def _foreign_keys(conn, tables):
    """(table, name, definition) of the foreign keys of these tables."""
    return conn.execute(sa.text("""
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE contype = 'f' AND conrelid::regclass::text = ANY(:tables)
         ORDER BY conrelid::regclass::text, conname"""), {"tables": tables}).all()


def _data_version_on_workers(conn, echo):
    """Each worker's own data_version sequence (state_refresh takes community versions from the
    node that holds the community), in a range of its own: node group g counts from g << 48, so
    a version is never handed out twice, even after a shard moves to another node."""
    conn.execute(sa.text("""
        SELECT run_command_on_workers($$CREATE SEQUENCE IF NOT EXISTS data_version$$);
        SELECT run_command_on_workers($$SELECT setval('data_version', greatest(
            (SELECT last_value FROM data_version), (SELECT groupid FROM pg_dist_local_group)::bigint << 48))$$)
    """))
    echo("  data_version: one sequence per worker, ranges apart")


def distribute(eng, echo=print):
    """Distribute every table as docs/scaling.md §2 says, in one transaction; returns the tables
    changed (none when the database is distributed already)."""
    wanted = {**{t: "reference" for t in REFERENCE}, **{t: "local" for t in LOCAL},
              **{t: "distributed" for t in [*DISTRIBUTED, *BY_OWN_KEY]}}
    with eng.connect() as conn:
        with conn.begin():
            _check(conn)
            placed = _placed(conn)
        todo = [t for t in wanted if placed.get(t) != wanted[t]]
        with conn.begin():
            if todo:
                _place(conn, todo, echo)
            _data_version_on_workers(conn, echo)
    return todo


def _place(conn, todo, echo):
    # Foreign keys come off first and go back on at the end: a table that points at a new
    # reference table would otherwise be made a coordinator-local table by Citus on the spot.
    keys = _foreign_keys(conn, list({*REFERENCE, *LOCAL, *DISTRIBUTED, *BY_OWN_KEY}))
    for table, name, _ in keys:
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    # Nor may the triggers fire while Citus copies the rows into the shards: the tables they
    # touch may not be there yet, and the rows are copied as they are.
    for table in todo:
        conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    # Triggers on shards are what docs/scaling.md §3.1 and migration 0017 make safe.
    conn.execute(sa.text("SET LOCAL citus.enable_unsafe_triggers = on"))
    conn.execute(sa.text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    echo("reference tables (a copy on every node):")
    for table in REFERENCE:
        if table in todo:
            conn.execute(sa.text("SELECT create_reference_table(:t)"), {"t": table})
            echo(f"  {table}")
    echo("coordinator-only tables:")
    for table in LOCAL:
        if table in todo:
            conn.execute(sa.text("SELECT citus_add_local_table_to_metadata(:t)"), {"t": table})
            echo(f"  {table}")
    echo(f"distributed tables (by {KEY}, co-located with issue):")
    for table in DISTRIBUTED:
        if table in todo:
            colocate = "none" if table == "issue" else "issue"
            conn.execute(sa.text("SELECT create_distributed_table(:t, :k, colocate_with => :c)"),
                         {"t": table, "k": KEY, "c": colocate})
            echo(f"  {table}")
    for table, column in BY_OWN_KEY.items():
        if table in todo:
            conn.execute(sa.text("SELECT create_distributed_table(:t, :k, colocate_with => 'none')"),
                         {"t": table, "k": column})
            echo(f"  {table} (by {column})")
    echo("foreign keys:")
    for table, name, definition in keys:
        if name in DROP_KEYS:
            echo(f"  {name}: dropped (it may cross shards)")
            continue
        if table in DISTRIBUTED:
            # Citus refuses ON UPDATE CASCADE on a key holding the distribution column, which it
            # never updates anyway.
            definition = definition.replace(" ON UPDATE CASCADE", "")
        conn.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    echo(f"  {len(keys) - len(DROP_KEYS)} restored")
    for table in todo:
        conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def same_shard(conn, community_id):
    """Where the rows of one community live, per distributed table: (the worker's port, the
    shard's hash range). One value for every table when they live together on one shard group."""
    rows = conn.execute(sa.text("""
        SELECT t.logicalrelid::regclass::text AS tbl, n.nodeport AS port, s.shardminvalue AS range
          FROM unnest(CAST(:tables AS text[])) AS x(name)
          JOIN pg_dist_partition t ON t.logicalrelid = to_regclass(x.name)
          JOIN pg_dist_shard s ON s.shardid = get_shard_id_for_distribution_column(t.logicalrelid, :c)
          JOIN pg_dist_placement p ON p.shardid = s.shardid
          JOIN pg_dist_node n ON n.groupid = p.groupid"""), {"tables": DISTRIBUTED, "c": community_id})
    return {r.tbl: (r.port, r.range) for r in rows}
