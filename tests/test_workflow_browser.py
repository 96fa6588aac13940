"""One issue recorded and driven through all six steps by clicking in Chromium; it ends on
the community's 公示 page and its compound's color is back where it was."""
import re

import sqlalchemy as sa

from tests.helpers import add_user, browser_login, q, open_issues


def fill_of(page, compound_id):
    return page.get_attribute(f"path.compound-{compound_id}", "fill")


def test_record_and_advance_an_issue_by_clicking(app, engine, page):
    add_user(app, "ui_staff", "community_staff", "汇丰社区")
    compound_id, lon, lat, community_id = q(engine, """
        SELECT c.id, ST_X(p), ST_Y(p), c.community_id FROM compound c, ST_PointOnSurface(c.geom) p
         JOIN community m ON true WHERE m.id = c.community_id AND m.name = '汇丰社区'
         ORDER BY c.id LIMIT 1""")[0]
    venue_id, platform = q(engine, "SELECT vp.venue_id, vp.platform FROM venue_platform vp JOIN venue v "
                                   "ON v.id = vp.venue_id WHERE v.community_id = :c ORDER BY 1 LIMIT 1",
                           c=community_id)[0]
    with engine.begin() as conn:
        meeting_id = conn.execute(sa.text(
            "INSERT INTO meeting (venue_id, platform, held_on, title, attendee_count) "
            "VALUES (:v, :p, current_date, '小板凳恳谈会', 12) RETURNING id"), {"v": venue_id, "p": platform}).scalar()
    open_before = open_issues(engine, compound_id)

    browser_login(page, "ui_staff")
    page.wait_for_function("document.documentElement.dataset.workflow === 'ready'")
    page.wait_for_function("document.querySelectorAll('path.compound').length === 62")
    colour_before = fill_of(page, compound_id)

    # record: the button, then a tap inside the compound
    page.click(".gm-record-control button")
    page.evaluate(f"window[GridMap.mapName()].setView([{lat}, {lon}], 18, {{animate: false}})")
    page.wait_for_timeout(300)
    x, y = page.evaluate(f"""(() => {{ const m = window[GridMap.mapName()];
        const p = m.latLngToContainerPoint([{lat}, {lon}]); const r = m.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }})()""")
    page.mouse.click(x, y)
    page.select_option(".gm-record select[name=category]", "road")
    page.select_option(".gm-record select[name=channel]", "bench_talk")
    page.fill(".gm-record input[name=title]", "楼前路面塌陷")
    page.fill(".gm-record textarea[name=description]", "雨后塌陷，影响出行")
    page.fill(".gm-record input[name=reporter_name]", "李四")
    page.fill(".gm-record input[name=reporter_phone]", "13800002222")
    page.click(".gm-record button[type=submit]")
    issue_id = int(page.get_attribute(".gm-done", "data-issue", timeout=10_000))
    assert q(engine, "SELECT compound_id, stage FROM issue WHERE id = :i", i=issue_id)[0] == (compound_id, "reported")
    # the form sent an idempotency key (a UUID made for this submission), stored with the issue
    keys = q(engine, "SELECT key FROM issue_request_key WHERE issue_id = :i", i=issue_id)
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", keys[0][0])

    # open its marker's popup once the live layer has it, then click through the steps
    page.wait_for_function(f"""(() => {{ let found = null;
        window[GridMap.mapName()].eachLayer(l => {{ if (l.feature && l.feature.geometry.type === 'Point'
            && l.feature.properties.id === {issue_id}) found = l; }});
        if (found) {{ found.openPopup(); return true; }} return false; }})()""", timeout=15_000)
    steps = [("topic", {}), ("notice", {}), ("consult", {"select[name=meeting_id]": str(meeting_id)}),
             ("implement", {}), ("publish", {"textarea[name=result]": "已修复路面 30 米"}),
             ("feedback", {}), ("closed", {})]
    for stage, fields in steps:
        button = f".gm-step button[value={stage}]"
        page.wait_for_selector(button, timeout=10_000)
        for selector, value in fields.items():
            if selector.startswith("select"):  # the community's recent meetings, newest first
                page.select_option(f".gm-step {selector}", value)
            else:
                page.fill(f".gm-step {selector}", value)
        page.click(button)
        page.wait_for_selector(f".gm-done[data-stage={stage}]", timeout=10_000)
    assert q(engine, "SELECT stage, result, satisfaction FROM issue WHERE id = :i", i=issue_id)[0] == \
        ("closed", "已修复路面 30 米", "satisfied")
    assert [s for (s,) in q(engine, "SELECT to_stage FROM issue_event WHERE issue_id = :i ORDER BY at, id",
                           i=issue_id)] == ["reported"] + [s for s, _ in steps]

    # the compound's color is back where it was, live
    page.wait_for_function(f"document.querySelector('path.compound-{compound_id}').getAttribute('fill') === "
                           f"'{colour_before}'", timeout=12_000)
    assert open_issues(engine, compound_id) == open_before

    # and it is on the community's 公示 page, without the reporter
    page.goto(f"{page.base}/notice/community/{community_id}")
    row = page.locator(f"table.results tr[data-issue='{issue_id}']")
    assert "已修复路面 30 米" in row.inner_text()
    assert "李四" not in page.content() and "13800002222" not in page.content()
    assert page.problems == []
