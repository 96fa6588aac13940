"""The sample 中心路街道 (示例数据): synthetic geometry placed where 上街区 is, with the
source document's figures: 14 communities, 62 compounds, 65 venues, 400+ meetings,
35 NPC deputies, 24 CPPCC members, 28 self-governance orgs, 131 livelihood issues resolved.

Everything is drawn from one seeded random generator, so two loads on the same day give
the same subdistrict; dates are relative to the day of loading so that the open issues
stay realistically "on time", "due soon" or "overdue".
"""
import secrets

import numpy as np
import sqlalchemy as sa

from data import sample_names as names
from data.sample_issues import build_issues, build_meetings
from data.sample_places import People, build_deputies, build_places, build_self_governance, build_venues
from layers.dashboard import FIGURES_SQL
from layers import search, state, users

SEED = 146


# One demo account per role, so the sample can be tried as each user. (name, role, area)
DEMO_ACCOUNTS = [
    ("demo_grid", "grid_leader", "汇丰社区/第1网格"),
    ("demo_staff", "community_staff", "汇丰社区"),
    ("demo_deputy", "deputy", "江南小镇社区"),
    ("demo_official", "official", None),
    ("demo_admin", "admin", None),
]


def create_demo_accounts(conn, accounts_file=None):
    """The demo accounts with random passwords, written to ``accounts_file`` (owner-only) and
    nowhere else: never to the output, which ends up in service logs. Returns a few lines
    naming the accounts and where their passwords are."""
    lines = []
    for name, role, area in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        users.add(name, role, password, area, conn=conn)
        lines.append(f"{name}\t{role}\t{area or '全街道'}\t{password}")
    if accounts_file is not None:
        accounts_file.parent.mkdir(parents=True, exist_ok=True)
        accounts_file.unlink(missing_ok=True)
        accounts_file.touch(mode=0o600)
        accounts_file.write_text("示例账号（仅示例数据）：用户名\t角色\t范围\t密码\n" + "\n".join(lines) + "\n")
        where = f"密码见 {accounts_file}（仅所有者可读） (passwords in {accounts_file}, owner-only)"
    else:
        where = "密码未保存 (passwords not kept)"
    return f"示例账号 (demo accounts)：{'、'.join(name for name, _role, _area in DEMO_ACCOUNTS)}；{where}"


def load(eng, progress=True, accounts_file=None):
    """Load the sample subdistrict unless one is already there; returns a one-line summary
    followed by the demo accounts' names and the file that holds their passwords."""
    assert len(names.COMPOUND_NAMES) + sum(map(len, names.NAMED_COMPOUNDS.values())) >= 62
    with eng.begin() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM subdistrict")).scalar():
            return "示例数据已存在，未重复加载 (sample already loaded)"
        conn.execute(sa.text("LOCK TABLE subdistrict IN EXCLUSIVE MODE"))
        conn.info["progress"] = progress
        rng = np.random.default_rng(SEED)
        people = People(rng)
        with state.bulk_load(conn):
            compounds = build_places(conn, rng, people)
            build_self_governance(conn, rng, compounds)
            venues = build_venues(conn, rng, compounds)
            build_deputies(conn, rng, people, venues)
            specs = build_issues(conn, rng, people, compounds)
            build_meetings(conn, rng, venues, [s for s in specs if "consulted_at" in s])
        accounts = create_demo_accounts(conn, accounts_file)
        search.refresh(conn)
        conn.execute(sa.text("ANALYZE"))  # fresh statistics for the planner right away
        conn.info["progress"] = False
    return summary(eng) + "\n" + accounts


def summary(eng):
    with eng.connect() as conn:
        figures = conn.execute(sa.text(FIGURES_SQL)).mappings().one()
    return ("示例数据 中心路街道：{communities} 个社区 · {compounds} 个楼院 · {venues} 处协商议事场所 · "
            "{meetings} 次协商活动 · {npc} 名人大代表 · {cppcc} 名政协委员 · {orgs} 个楼院有自治组织 · "
            "{issues} 件诉求（已解决民生问题 {resolved} 件）").format(**figures)

