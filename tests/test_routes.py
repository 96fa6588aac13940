"""Routes that had no test of their own: the 公示 index, the form lists (/api/choices), and
`sample load` run a second time."""
from layers import hierarchy
from tests.helpers import PHONE, rows, scalar


def test_notice_index_lists_every_community_and_links_its_notice(client, engine):
    response = client.get("/notice/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    communities = rows(engine, "SELECT id, name FROM community ORDER BY id")
    assert len(communities) == 14
    for c in communities:
        assert f'href="/notice/community/{c["id"]}">{c["name"]}</a>' in html
    assert not PHONE.search(html)
    first = client.get(f"/notice/community/{communities[0]['id']}")
    assert first.status_code == 200 and communities[0]["name"] in first.get_data(as_text=True)


def test_choices_hold_the_lists_a_form_needs(client, engine):
    response = client.get("/api/choices")
    assert response.status_code == 200
    c = response.get_json()
    assert [s["code"] for s in c["stages"]][:3] == ["reported", "topic", "notice"]
    assert {s["code"] for s in c["stages"]} == {r["code"] for r in rows(engine, "SELECT code FROM stage")}
    assert len(c["categories"]) == scalar(engine, "SELECT count(*) FROM category")
    assert {p["code"] for p in c["platforms"]} == {"bench_talk", "cppcc_consult", "npc_station", "residents_council"}
    assert len(c["venues"]) == 65 and all(v["platforms"] for v in c["venues"])
    assert all(ch["name_zh"] and ch["name_en"] for ch in c["channels"])


def test_sample_load_twice_changes_nothing(empty_database, tmp_path):
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": empty_database,
                      "DEMO_ACCOUNTS_FILE": tmp_path / "accounts.txt"})
    try:
        runner = app.test_cli_runner()
        eng = app.extensions["gridmap_engine"]
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        assert hierarchy.empty(eng)  # what `make run` asks before loading the sample
        first = runner.invoke(args=["sample", "load"])
        assert first.exit_code == 0, first.output
        assert not hierarchy.empty(eng)
        count = ("SELECT (SELECT count(*) FROM compound) AS compounds, (SELECT count(*) FROM issue) AS issues, "
                 "(SELECT count(*) FROM head) AS heads, (SELECT count(*) FROM app_user) AS users, "
                 "(SELECT count(*) FROM meeting) AS meetings")
        before = rows(eng, count)
        second = runner.invoke(args=["sample", "load"])
        assert second.exit_code == 0 and "已存在" in second.output
        assert rows(eng, count) == before and before[0]["compounds"] == 62
    finally:
        app.extensions["gridmap_engine"].dispose()
