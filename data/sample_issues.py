"""The issues and meetings of the sample 中心路街道: the seed's cases and generic issues
through the six steps, with exactly 131 livelihood issues resolved, and 400+ meetings."""
import datetime as dt

import sqlalchemy as sa
from tqdm import tqdm

from data import sample_names as names
from data.sample_cases import CASES
from data.sample_places import insert_row, point_in, showing_progress, to_lonlat

ISSUE_COUNT = 380
RESOLVED_LIVELIHOOD = 131
MEETING_COUNT = 412
OPEN_STAGES = ["reported", "topic", "notice", "consult", "implement", "publish", "feedback"]


def _stage_plan(rng):
    """The final stage of every generated issue: exactly 131 resolved livelihood issues
    (the named cases included), some rejected or merged, the rest open in every stage."""
    case_closed = sum(1 for case in CASES if case["stage"] == "closed" and case["livelihood"])
    generic = ISSUE_COUNT - len(CASES)
    closed = RESOLVED_LIVELIHOOD - case_closed
    rejected, merged = 12, 6
    open_count = generic - closed - rejected - merged
    plan = ["closed"] * closed + ["rejected"] * rejected + ["merged"] * merged
    plan += [OPEN_STAGES[i % len(OPEN_STAGES)] for i in range(open_count)]
    rng.shuffle(plan)
    return plan


GENERIC_ISSUES = {
    "road": ["小区门口路面坑洼", "人行道地砖松动", "雨后路面积水"],
    "elevator": ["老旧楼栋申请加装电梯", "加装电梯费用分摊协商"],
    "utilities": ["自来水水压低", "暖气不热", "楼道照明损坏", "燃气管道老化"],
    "property": ["物业服务不到位", "不动产证办理进度", "公共维修资金使用"],
    "sanitation": ["垃圾清运不及时", "楼道杂物堆放", "绿化带杂草丛生"],
    "parking": ["电动车充电桩不足", "小区停车位紧张", "消防通道被占用"],
    "employment": ["求职信息咨询", "灵活就业岗位对接"],
    "dispute": ["邻里噪音纠纷", "楼上漏水引发纠纷"],
    "services": ["希望增设便民食堂", "老年人助餐需求", "便民维修点需求"],
    "other": ["社区活动场地不足", "宠物管理问题"],
}


def build_issues(conn, rng, people, compounds):
    """A few hundred issues over two years, clustered around a few troubled compounds."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    by_name = {c["name"]: c for c in compounds}
    hot = [by_name["乐福国际小区"]] + [compounds[i] for i in rng.choice(len(compounds), 3, replace=False)]
    categories = list(GENERIC_ISSUES)
    channels = [r[0] for r in conn.execute(sa.text("SELECT code FROM channel ORDER BY code"))]
    deadlines = dict(conn.execute(sa.text("SELECT code, deadline_days FROM stage WHERE is_open")).all())

    specs = [dict(case, compound=by_name.get(case["compound"]) or
                  next(c for c in compounds if c["community"] == case["community"]))
             for case in CASES]
    for stage in _stage_plan(rng):
        compound = hot[int(rng.integers(len(hot)))] if rng.random() < 0.35 else \
            compounds[int(rng.integers(len(compounds)))]
        category = categories[int(rng.integers(len(categories)))]
        titles = GENERIC_ISSUES[category]
        specs.append(dict(title=titles[int(rng.integers(len(titles)))], category=category,
                          stage=stage, compound=compound, description="", result=None,
                          meetings=None))
    for spec in tqdm(specs, desc="诉求", unit="件", disable=not showing_progress(conn)):
        _add_issue(conn, rng, people, now, spec, channels, deadlines)
    return specs


def _add_issue(conn, rng, people, now, spec, channels, deadlines):
    compound = spec["compound"]
    # Most issues are inside the compound, some on the streets of its grid around it.
    target = compound["shape"] if rng.random() < 0.85 else \
        compound["shape"].buffer(40).intersection(compound["cell"].buffer(-1))
    point = point_in(rng, target)
    stage = spec["stage"]
    if stage in ("rejected", "merged"):
        path = ["reported", stage]
    elif stage == "closed":
        path = OPEN_STAGES + ["closed"]
    else:
        path = OPEN_STAGES[:OPEN_STAGES.index(stage) + 1]
    if stage in OPEN_STAGES:
        # Time in the current stage against its deadline: most on time, some due soon or overdue.
        tail = float(rng.uniform(0, 1.15 * deadlines[stage]))
        age_days = spec.get("age_days") or tail + float(rng.uniform(2, 25)) * len(path)
    else:
        age_days = spec.get("age_days") or float(rng.uniform(3, 730))
        tail = 0.1 * age_days
    reported_at = now - dt.timedelta(days=age_days)
    # The steps spread over the issue's life up to its last one, ``tail`` days ago.
    span = age_days - tail
    offsets = sorted(rng.uniform(0, span, len(path) - 2)) + [span] if len(path) > 1 else []
    times = [reported_at] + [reported_at + dt.timedelta(days=float(o)) for o in offsets]
    reason = {"rejected": "不属于社区协商事项，已转相关职能部门", "merged": "与同一楼院的已有诉求重复，合并办理"}
    issue_id = insert_row(
        conn,
        "INSERT INTO issue (title, description, category, channel, stage, stage_reason, result,"
        " satisfaction, reported_at, stage_changed_at, closed_at, geom) VALUES (:title, :description,"
        " :category, :channel, :stage, :reason, :result, :satisfaction, :reported_at, :changed_at,"
        " :closed_at, ST_GeomFromText(:wkt, 4326)) RETURNING id",
        title=spec["title"], description=spec.get("description") or "", category=spec["category"],
        channel=spec.get("channel") or channels[int(rng.integers(len(channels)))], stage=stage,
        reason=reason.get(stage), result=spec.get("result") or
        ("已按协商结果办理完毕" if stage in ("publish", "feedback", "closed") else None),
        satisfaction=(["satisfied", "satisfied", "mostly_satisfied", "unsatisfied"][int(rng.integers(4))]
                      if stage in ("feedback", "closed") else None),
        reported_at=reported_at, changed_at=times[-1],
        closed_at=times[-1] if stage in ("closed", "rejected", "merged") else None,
        wkt=to_lonlat(point).wkt)
    conn.execute(sa.text("INSERT INTO issue_reporter VALUES (:i, :n, :p)"),
                 dict(i=issue_id, n=people.name(), p=people.phone("1360000")))
    events = [dict(i=issue_id, at=times[0], actor="网格员", frm=None, to="reported", note="收集诉求")]
    for k in range(1, len(path)):
        events.append(dict(i=issue_id, at=times[k], actor="社区工作人员", frm=path[k - 1], to=path[k],
                           note=reason.get(path[k])))
    conn.execute(sa.text("INSERT INTO issue_event (issue_id, at, actor, from_stage, to_stage, note) "
                         "VALUES (:i, :at, :actor, :frm, :to, :note)"), events)
    if "consult" in path:
        spec["consulted_at"] = times[path.index("consult")]
    spec["id"] = issue_id
    return issue_id


def build_meetings(conn, rng, venues, consulted):
    """412 consultation meetings over two years; issues that reached `consult` are linked to
    a meeting in their own community on the day they were consulted."""
    today = dt.date.today()
    venue_by_community = {}
    for v in venues:
        venue_by_community.setdefault(v["community_id"], []).append(v)
    meeting_sql = sa.text(
        "INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count, attendee_kinds,"
        " minutes) VALUES (:venue, :platform, :held_on, :title, :count, :kinds, :minutes) RETURNING id")
    titles = {"bench_talk": "小板凳恳谈会", "cppcc_consult": "“有事好商量”协商议事",
              "npc_station": "人大代表接待日", "residents_council": "居民议事会"}
    made = 0
    for spec in consulted:
        community_venues = venue_by_community[spec["compound"]["community_id"]]
        for k in range(spec.get("meetings") or 1):
            venue = community_venues[int(rng.integers(len(community_venues)))]
            platform = spec.get("platform") if spec.get("platform") in venue["platforms"] \
                else venue["platforms"][0]
            held_on = (spec["consulted_at"] - dt.timedelta(days=7 * k)).date()
            meeting_id = conn.execute(meeting_sql, dict(
                venue=venue["id"], platform=platform, held_on=held_on,
                title=f"{titles[platform]}：{spec['title']}", count=int(rng.integers(8, 45)),
                kinds=_kinds(rng), minutes=f"围绕“{spec['title']}”听取居民意见，形成协商意见。")).scalar()
            conn.execute(sa.text("INSERT INTO meeting_issue VALUES (:m, :i)"),
                         dict(m=meeting_id, i=spec["id"]))
            made += 1
    while made < MEETING_COUNT:
        venue = venues[int(rng.integers(len(venues)))]
        platform = venue["platforms"][int(rng.integers(len(venue["platforms"])))]
        conn.execute(meeting_sql, dict(
            venue=venue["id"], platform=platform,
            held_on=today - dt.timedelta(days=int(rng.integers(1, 730))),
            title=f"{titles[platform]}：{venue['name']}例会", count=int(rng.integers(8, 60)),
            kinds=_kinds(rng), minutes="通报近期诉求办理情况，收集居民意见建议。"))
        made += 1
    return made


def _kinds(rng):
    k = int(rng.integers(2, len(names.ATTENDEE_KINDS) + 1))
    return sorted(rng.choice(names.ATTENDEE_KINDS, k, replace=False).tolist())
