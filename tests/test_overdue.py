"""The overdue list (/issues?overdue=1): how many Beijing days each issue is past due (never
"0 days": due today says so), its grid leader (masked outside the viewer's area), and a link
that opens the map at the issue."""
import re

import pytest
import sqlalchemy as sa

from tests.helpers import add_user, login, public_ledger_app, q


@pytest.fixture(scope="module")
def app(database):
    """The ledger opened to everyone (``PUBLIC_LEDGER``), to see it as the public too."""
    yield from public_ledger_app(database)


def _row(html, issue_id):
    found = re.search(rf'<tr data-id="{issue_id}">(.*?)</tr>', html, re.S)
    assert found, f"issue {issue_id} not listed"
    return found.group(1)


@pytest.fixture(scope="module")
def late(engine):
    """Two open issues of 汇丰社区 with a deadline: one due 3 days ago, one due an hour ago
    (Beijing noon today when the hour before is still today), and their grid leader."""
    picked = q(engine, """
        SELECT i.id, g.leader_name, i.community_id FROM issue i JOIN stage st ON st.code = i.stage
          JOIN community m ON m.id = i.community_id JOIN grid g ON g.id = i.grid_id
         WHERE st.is_open AND st.deadline_days IS NOT NULL AND m.name = '汇丰社区' AND g.name = '第1网格'
         ORDER BY i.id LIMIT 2""")
    (three, leader, community), (today, _, _) = picked
    # The moments are computed first: Citus runs no UPDATE calling now() with a row's columns.
    with engine.begin() as conn:
        for issue, moment in ((three, "now() - make_interval(days => st.deadline_days + 3)"),
                              (today, """greatest(now() - interval '1 hour',
                                                  date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                                                  AT TIME ZONE 'Asia/Shanghai')
                                         - make_interval(days => st.deadline_days)""")):
            at = conn.exec_driver_sql(f"SELECT {moment} FROM issue i JOIN stage st ON st.code = i.stage "
                                      f"WHERE i.id = {issue} AND i.community_id = {community}").scalar()
            conn.execute(sa.text("UPDATE issue SET stage_changed_at = :at WHERE id = :id AND community_id = :c"),
                         {"at": at, "id": issue, "c": community})
    return {"three": three, "today": today, "leader": leader}


def test_days_overdue_and_due_today(client, late):
    html = client.get("/issues?overdue=1").get_data(as_text=True)
    assert "超期 3 天" in _row(html, late["three"])
    today = _row(html, late["today"])
    assert "今日到期" in today and "超期" not in today
    assert "超期 0" not in html


def test_the_grid_leader_is_masked_outside_the_viewers_area(app, client, late):
    public = _row(client.get("/issues?overdue=1").get_data(as_text=True), late["three"])
    assert late["leader"] not in public and late["leader"][0] in public and "*" in public
    add_user(app, "o_grid", "grid_leader", "汇丰社区/第1网格")
    leader = login(app.test_client(), "o_grid")
    own = _row(leader.get("/issues?overdue=1").get_data(as_text=True), late["three"])
    assert late["leader"] in own


def test_each_row_links_to_the_issue_on_the_map(client, late):
    row = _row(client.get("/issues?overdue=1").get_data(as_text=True), late["three"])
    assert f'href="/?issue={late["three"]}"' in row
    item = client.get(f"/ogc/collections/issues/items/{late['three']}?f=json")
    assert item.status_code == 200 and item.get_json()["geometry"]["type"] == "Point"


def test_english_plurals(client, late):
    html = client.get("/issues?overdue=1&lang=en").get_data(as_text=True)
    assert "overdue 3 days" in _row(html, late["three"]) and "Due today" in _row(html, late["today"])
