"""The dashboard's figures equal counts written independently here in SQL (the on-time
verdicts from the event log, as first defined), the sample shows the seed document's figures,
and every number that links somewhere links to an issue list of exactly that many issues;
the list never shows a reporter. The sample is one subdistrict, which the dashboard opens on."""
import datetime as dt
import re

import pytest

from webmap.issuelist import PAGE_SIZE
from tests.helpers import PHONE, public_ledger_app, rows, scalar


@pytest.fixture(scope="module")
def app(database):
    """The ledger opened to everyone (``PUBLIC_LEDGER``): this module reads it as the public."""
    yield from public_ledger_app(database)


CJK = re.compile(r"[\u4e00-\u9fff]")
BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def data(app):
    with app.test_client() as client:
        response = client.get("/api/dashboard.json")
        assert response.status_code == 200
        return response.get_json()


def test_sample_figures(data):
    f = data["figures"]
    assert (f["communities"], f["compounds"], f["venues"], f["npc"], f["cppcc"], f["orgs"]) == (14, 62, 65, 35, 24, 28)
    assert f["meetings"] >= 400
    assert f["resolved"] == data["resolved_livelihood"] == 131
    assert data["sample"] is True
    # One district of one subdistrict: the installation opens on the subdistrict.
    assert data["area"]["level"] == "subdistrict" and data["area"]["name"] == "中心路街道"
    assert [t["name"] for t in data["area"]["trail"]] == ["郑州市", "上街区", "中心路街道"]


def test_figures_equal_direct_counts(data, engine):
    count = lambda sql: scalar(engine, sql)  # noqa: E731
    expected = {
        "communities": count("SELECT count(*) FROM community"),
        "compounds": count("SELECT count(*) FROM compound"),
        "venues": count("SELECT count(*) FROM venue"),
        "meetings": count("SELECT count(*) FROM meeting"),
        "npc": count("SELECT count(*) FROM deputy WHERE kind = 'npc_deputy'"),
        "cppcc": count("SELECT count(*) FROM deputy WHERE kind = 'cppcc_member'"),
        "orgs": count("SELECT count(*) FROM compound c WHERE EXISTS "
                      "(SELECT 1 FROM self_governance_org o WHERE o.compound_id = c.id)"),
        "issues": count("SELECT count(*) FROM issue"),
        "resolved": count("SELECT count(*) FROM issue WHERE stage = 'closed' "
                          "AND category IN (SELECT code FROM category WHERE livelihood)"),
    }
    assert data["figures"] == expected
    assert data["figures"]["issues"] == scalar(engine, "SELECT count(*) FROM issue")
    assert data["open"] == scalar(engine, "SELECT count(*) FROM issue i JOIN stage s ON s.code = i.stage WHERE s.is_open")
    assert data["overdue"] == scalar(engine, """
        SELECT count(*) FROM issue i JOIN stage s ON s.code = i.stage
         WHERE s.is_open AND now() - i.stage_changed_at > s.deadline_days * interval '1 day'""") > 0
    stages = dict((r["stage"], r["n"]) for r in rows(engine, "SELECT stage, count(*) AS n FROM issue GROUP BY stage"))
    assert {s["code"]: s["count"] for s in data["stages"]} == {
        code: stages.get(code, 0) for code in (r["code"] for r in rows(engine, "SELECT code FROM stage"))}
    assert [s["code"] for s in data["stages"]][:2] == ["reported", "topic"]
    categories = dict((r["category"], r["n"]) for r in rows(
        engine, "SELECT category, count(*) AS n FROM issue GROUP BY category"))
    assert {c["code"]: c["count"] for c in data["categories"] if c["count"]} == categories


def test_months_are_the_last_24_in_beijing_time(data, engine):
    months = data["months"]
    this_month = dt.datetime.now(BEIJING).strftime("%Y-%m")
    assert len(months) == 24 and months[-1]["month"] == this_month
    assert [m["month"] for m in months] == sorted(m["month"] for m in months)
    counted = dict((r["m"], r["n"]) for r in rows(engine, """
        SELECT to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS m, count(*) AS n
          FROM issue GROUP BY 1"""))
    assert {m["month"]: m["count"] for m in months} == {m["month"]: counted.get(m["month"], 0) for m in months}
    assert sum(m["count"] for m in months) > 0.9 * data["figures"]["issues"]


def test_communities_open_closed_and_on_time(data, engine):
    """On time: closed within the summed deadlines of the open stages its log passed
    through, or open and not past its current stage's deadline (rejected and merged excluded).
    The subdistrict's children are its communities."""
    expected = {r["community_id"]: r for r in rows(engine, """
        WITH passed AS (SELECT DISTINCT issue_id, to_stage FROM issue_event),
        budget AS (SELECT p.issue_id, sum(s.deadline_days) AS days FROM passed p
                     JOIN stage s ON s.code = p.to_stage AND s.is_open GROUP BY p.issue_id),
        judged AS (
          SELECT i.community_id, i.stage, s.is_open,
                 CASE WHEN i.stage = 'closed' THEN extract(epoch FROM coalesce(i.closed_at, i.stage_changed_at)
                                                            - i.reported_at) <= coalesce(b.days, 0) * 86400
                      WHEN s.is_open THEN extract(epoch FROM now() - i.stage_changed_at) <= s.deadline_days * 86400
                 END AS on_time
            FROM issue i JOIN stage s ON s.code = i.stage LEFT JOIN budget b ON b.issue_id = i.id)
        SELECT community_id, count(*) FILTER (WHERE is_open) AS open,
               count(*) FILTER (WHERE stage = 'closed') AS closed,
               count(*) FILTER (WHERE on_time) AS on_time, count(*) FILTER (WHERE NOT on_time) AS late
          FROM judged GROUP BY community_id""")}
    assert len(data["children"]) == 14 and {c["level"] for c in data["children"]} == {"community"}
    for c in data["children"]:
        e = expected[c["id"]]
        assert (c["open"], c["closed"], c["on_time"], c["late"]) == (e["open"], e["closed"], e["on_time"], e["late"])
        assert c["on_time_rate"] == pytest.approx(round(100 * e["on_time"] / (e["on_time"] + e["late"]), 1))
    assert sum(c["late"] for c in data["children"]) > 0 and sum(c["on_time"] for c in data["children"]) > 0


def test_platforms(data, engine):
    expected = {r["platform"]: r for r in rows(engine, """
        WITH linked AS MATERIALIZED (SELECT m.platform, count(DISTINCT mi.issue_id) AS n
                                       FROM (SELECT meeting_id, issue_id FROM meeting_issue) mi
                                       JOIN meeting m ON m.id = mi.meeting_id GROUP BY 1)
        SELECT p.code AS platform, (SELECT count(*) FROM meeting m WHERE m.platform = p.code) AS meetings,
               coalesce(l.n, 0) AS issues FROM platform p LEFT JOIN linked l ON l.platform = p.code""")}
    assert {p["code"]: (p["meetings"], p["issues"]) for p in data["platforms"]} == {
        k: (v["meetings"], v["issues"]) for k, v in expected.items()}
    assert sum(p["meetings"] for p in data["platforms"]) == data["figures"]["meetings"]


def links(client, data):
    """(href, number shown) of every issue figure: the page's links and the charts' bars."""
    html = client.get("/dashboard").get_data(as_text=True)
    found = [(href.replace("&amp;", "&"), int(n))
             for href, n in re.findall(r'<a class="[^"]*" href="([^"]+)" data-count="(\d+)"', html)]
    found += [(s["href"], s["count"]) for s in data["stages"]]
    found += [(m["href"], m["count"]) for m in data["months"]]
    found += [(c["href"], c["count"]) for c in data["categories"]]
    found += [(p["href"], p["issues"]) for p in data["platforms"]]
    for c in data["children"]:
        found += [(c["open_href"], c["open"]), (c["closed_href"], c["closed"]), (c["late_href"], c["late"])]
    return found


def test_every_link_lists_exactly_the_issues_it_counts(client, data):
    found = links(client, data)
    assert len(found) > 100
    html = client.get("/dashboard").get_data(as_text=True)
    # resolved, 3 totals, the stages, the children's open issues
    assert html.count("data-count=") == 1 + 3 + len(data["stages"]) + len(data["children"])
    for href, shown in found:
        response = client.get(href)
        assert response.status_code == 200, href
        page = response.get_data(as_text=True)
        total = int(re.search(r'data-total="(\d+)"', page).group(1))
        assert total == shown, href
        assert page.count("<tr data-id=") == min(shown, PAGE_SIZE), href
        assert 'data-exact="1"' in page, href


def test_headline_numbers_on_the_page(client, data):
    html = client.get("/dashboard").get_data(as_text=True)
    values = [int(v) for v in re.findall(r'<span class="value">(\d+)<small>', html)]
    f = data["figures"]
    assert values == [f["communities"], f["compounds"], f["venues"], f["meetings"], f["npc"], f["cppcc"],
                      f["orgs"], data["resolved_livelihood"]]
    assert "示例数据" in html and "/ 62" in html and "45%" in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    assert '/vendor/echarts/dist/echarts.min.js' in html


def test_the_issue_list_never_shows_a_reporter(client, engine):
    reporters = rows(engine, "SELECT name, phone FROM issue_reporter")
    for url in ("/issues", "/issues?page=2", "/issues?stage=reported", "/issues?overdue=1"):
        page = client.get(url).get_data(as_text=True)
        assert not PHONE.search(page), url
        assert not [r["name"] for r in reporters if len(r["name"]) > 2 and r["name"] in page], url


def test_titles_are_withheld_until_taken_up(client, engine):
    page = client.get("/issues?stage=reported").get_data(as_text=True)
    n = scalar(engine, "SELECT count(*) FROM issue WHERE stage = 'reported'")
    assert n > 0 and page.count("「尚未确定议题」") == n
    topics = client.get("/issues?stage=topic").get_data(as_text=True)
    assert "「尚未确定议题」" not in topics


def test_the_issue_list_filters(client, engine):
    community, name = rows(engine, "SELECT id, name FROM community WHERE name = '汇丰社区'")[0].values()
    page = client.get(f"/issues?area=community:{community}&category=road").get_data(as_text=True)
    total = int(re.search(r'data-total="(\d+)"', page).group(1))
    assert total == scalar(engine, "SELECT count(*) FROM issue WHERE community_id = :c AND category = 'road'",
                           c=community)
    cells = re.findall(r'<td class="category">(.*?)</td>\s*<td class="community data">(.*?)</td>', page)
    assert cells and all(c == ("道路", name) for c in cells)
    assert "<li><b>汇丰社区</b></li>" in page and "类别：道路" in page


@pytest.mark.parametrize("query, words", [
    ("stage=done", "阶段"), ("area=community:99999", "区域"), ("area=x", "area"), ("category=x", "类别"),
    ("platform=x", "协商平台"), ("page=1000", "页码"),
    ("month=2025-13", "月份"), ("month=25-01", "月份"), ("overdue=yes", "overdue"), ("on_time=2", "on_time"),
    ("page=0", "页码"), ("compound=x", "楼院"),
])
def test_bad_issue_list_filters_are_a_400(client, query, words):
    response = client.get(f"/issues?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert CJK.search(text) and words in text


def test_english_on_request(client):
    data = client.get("/api/dashboard.json?lang=en").get_json()
    assert data["stages"][0]["name"] == "Reported"
    assert "Reported" in client.get("/issues?stage=reported").get_data(as_text=True)  # the cookie
