"""Every page under its Content-Security-Policy in Chromium, anonymous and signed in as each
kind of user: the pages work (the map's modes, search, cards, popups, the record form; the
dashboard, hotspots, roster, meetings, issue list, 公示, login, OGC pages) and Chromium
reports no CSP violation and no console error."""
import pytest

from tests import tour
from tests.helpers import PASSWORD, add_user, q


@pytest.fixture(scope="module")
def sample(app, engine):
    """Users of 汇丰社区 (a grid leader of the grid of its first public issue, its staff) and an
    official; two public issues of the community and their compounds."""
    huifeng = q(engine, "SELECT id FROM community WHERE name = '汇丰社区'")[0][0]
    issues = q(engine, """SELECT i.id, c.id, g.name, ST_Y(p), ST_X(p)
                            FROM issue i JOIN stage s ON s.code = i.stage AND s.is_open AND s.code <> 'reported'
                            JOIN compound c ON c.id = i.compound_id JOIN grid g ON g.id = c.grid_id,
                                 ST_PointOnSurface(c.geom) p
                           WHERE c.community_id = :c ORDER BY i.id LIMIT 2""", c=huifeng)
    add_user(app, "csp_leader", "grid_leader", f"汇丰社区/{issues[0][2]}")
    add_user(app, "csp_staff", "community_staff", "汇丰社区")
    add_user(app, "csp_official", "official")
    return {"community": huifeng, "places": [(c, lat, lon) for _i, c, _g, lat, lon in issues],
            "issues": [i for i, *_ in issues]}


def test_the_map_page_carries_the_policy_and_nonces_folium_s_scripts(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    inline = html.count("<script>") + html.count("<style>")
    assert inline == 0, "an inline block without the nonce"
    assert html.count(f'<script nonce="{nonce}">') >= 2 and f'<style nonce="{nonce}">' in html
    assert client.get("/").headers["Content-Security-Policy"] != policy  # a fresh nonce each time


def test_anonymous(page, sample):
    tour.watch(page)
    tour.map_tour(page, sample["places"], sample["issues"], signed_in=False)
    tour.visit(page, "/login")
    tour.pages_tour(page, [sample["community"]], issue_list=False)
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_grid_leader(page, sample):
    tour.watch(page)
    tour.sign_in(page, "csp_leader", PASSWORD)
    tour.map_tour(page, sample["places"], sample["issues"][:1], signed_in=True, recorder=True, my_area=True,
                  modes=False)
    tour.pages_tour(page, [sample["community"]], roster=True, ogc_pages=False)
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_community_staff(page, sample):
    tour.watch(page)
    tour.sign_in(page, "csp_staff", PASSWORD)
    tour.map_tour(page, sample["places"], sample["issues"], signed_in=True, recorder=True, my_area=True,
                  modes=False)
    tour.visit(page, "/roster")
    tour.visit(page, "/meetings")
    assert not tour.clean(page), "\n".join(tour.clean(page))


def test_official(page, sample):
    tour.watch(page)
    tour.sign_in(page, "csp_official", PASSWORD)
    tour.map_tour(page, sample["places"], sample["issues"], signed_in=True)
    tour.pages_tour(page, [sample["community"]], roster=True)
    assert not tour.clean(page), "\n".join(tour.clean(page))
