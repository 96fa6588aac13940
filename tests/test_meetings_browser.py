"""Community staff record a consultation meeting from the /meetings page."""
import sqlalchemy as sa

from tests.helpers import add_user, browser_login


def test_staff_record_a_meeting_with_linked_issues(app, engine, page):
    add_user(app, "m_staff", "community_staff", "汇丰社区")
    browser_login(page, "m_staff", next_path="/meetings")
    page.wait_for_selector("#meeting")
    venues = page.locator("select[name=venue_id] option").all_inner_texts()
    assert venues and all(v.startswith("汇丰社区") for v in venues)  # only the user's community
    page.fill("input[name=title]", "乐福国际小区道路修复恳谈会")
    page.fill("input[name=attendee_count]", "23")
    page.check("input[value=heads]")
    page.check("input[value=party_member]")
    page.fill("textarea[name=minutes]", "议定分两期修复")
    first_issue = page.locator("select[name=issue_ids] option").first.get_attribute("value")
    page.select_option("select[name=issue_ids]", [first_issue])
    page.click("#meeting button[type=submit]")
    page.wait_for_selector("td:has-text('乐福国际小区道路修复恳谈会')")
    assert "已保存协商活动" in page.inner_text("#saved")
    with engine.connect() as conn:
        meeting = conn.execute(sa.text(
            "SELECT id, attendee_count, attendee_kinds, platform FROM meeting WHERE title = '乐福国际小区道路修复恳谈会'")).one()
        linked = conn.execute(sa.text("SELECT issue_id FROM meeting_issue WHERE meeting_id = :m"),
                              {"m": meeting.id}).scalars().all()
    assert meeting.attendee_count == 23 and set(meeting.attendee_kinds) == {"heads", "party_member"}
    assert linked == [int(first_issue)]
    assert page.locator(f"tr.saved[data-meeting='{meeting.id}']").count() == 1
    assert page.problems == []
