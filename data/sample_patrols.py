"""Sample patrols (巡查打卡): a few visits per compound over the last ~90 days, so the patrol
color mode, the dashboard's coverage and 我的范围 are not empty in the demo. About a fifth of
the compounds are never visited. Positions are each compound's interior point."""
import numpy as np
import sqlalchemy as sa

SEED = 146_016
NOTES = ["楼道整洁，消防通道畅通", "与楼院长交流近期情况", "检查电动车充电区域", "查看路面和井盖", ""]


def build_patrols(conn):
    # The loader also runs on a database migrated only part way (tests/test_schema.py loads
    # it before migration 0009): no patrol table there yet, so no patrols.
    if conn.execute(sa.text("SELECT to_regclass('patrol')")).scalar() is None:
        return 0
    rng = np.random.default_rng(SEED)
    compounds = conn.execute(sa.text(
        "SELECT id, community_id FROM compound ORDER BY id")).all()
    rows = []
    for compound_id, community_id in compounds:
        if rng.random() < 0.2:
            continue
        last = float(rng.choice([rng.uniform(0, 7), rng.uniform(7, 30), rng.uniform(30, 90)], p=[0.45, 0.35, 0.2]))
        for k in range(int(rng.integers(1, 4))):
            rows.append({"compound": compound_id, "community": community_id, "actor": "demo_grid",
                         "days": last + 10 * k + float(rng.uniform(0, 5)) * (k > 0),
                         "note": NOTES[int(rng.integers(len(NOTES)))]})
    conn.execute(sa.text("""
        INSERT INTO patrol (community_id, compound_id, actor, visited_at, geom, distance_m, nothing_found, note)
        SELECT :community, c.id, :actor, now() - make_interval(secs => :days * 86400),
               ST_PointOnSurface(c.geom), 0, true, :note
          FROM compound c WHERE c.id = :compound"""), rows)
    return len(rows)
