"""GET /api/search: places by Chinese name, pinyin initials or full pinyin, from the place_search
index that the sample loader filled and triggers keep true."""
import pytest
import sqlalchemy as sa

from layers import search
from tests.helpers import q


def found(client, text, **params):
    response = client.get("/api/search", query_string={"q": text, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def names(results):
    return [r["name"] for r in results]


def test_pinyin_initials_find_the_community_first(client, engine):
    results = found(client, "jnxz")
    first = results[0]
    assert (first["kind"], first["name"], first["parent"]) == ("community", "江南小镇社区", "中心路街道")
    (minx, miny, maxx, maxy), = q(engine, "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                                          "FROM community WHERE id = :id", id=first["id"])
    assert first["bounds"] == [[pytest.approx(miny), pytest.approx(minx)], [pytest.approx(maxy), pytest.approx(maxx)]]
    assert found(client, "JNXZ ")[0]["name"] == "江南小镇社区"   # case and spaces do not matter


def test_full_pinyin_prefix(client):
    assert found(client, "jiangnan")[0]["name"] == "江南小镇社区"
    assert "颐和美丽园" in names(found(client, "yihemei"))
    assert found(client, "jiangnanxiaozhenshequ")[0]["name"] == "江南小镇社区"
    assert found(client, "jiangnanx z") == found(client, "jiangnanxz") == []   # syllables, not initials


def test_chinese_substring_and_exact_name_first(client):
    assert names(found(client, "美丽")) == ["颐和美丽园"]
    assert found(client, "乐福国际小区")[0] == {**found(client, "乐福国际小区")[0], "kind": "compound",
                                             "parent": "汇丰社区"}
    # 中心路街道 (the subdistrict) is named exactly; 中心路社区 only starts with 中心路.
    assert names(found(client, "中心路街道"))[0] == "中心路街道"
    assert names(found(client, "中心路"))[:2] == ["中心路街道", "中心路社区"]
    assert {r["kind"] for r in found(client, "上街区")} == {"district"}
    assert "中铝家属院二区" in names(found(client, "家属院二"))


def test_at_most_ten_results(client, engine):
    assert q(engine, "SELECT count(*) FROM place_search WHERE name LIKE '%小区%'")[0][0] > 10
    assert len(found(client, "小区")) == 10
    assert q(engine, "SELECT count(*) FROM place_search WHERE initials LIKE 'j%'")[0][0] > 10
    assert len(found(client, "j")) == 10
    assert found(client, "没有这个地方") == []


def test_wildcards_are_plain_characters(client):
    assert found(client, "%") == found(client, "_") == found(client, "%区") == []


@pytest.mark.parametrize("query, message", [(None, "缺少参数 q"), ("", "缺少参数 q"), ("   ", "缺少参数 q"),
                                            ("江" * 51, "参数 q 太长")])
def test_bad_q_is_400_naming_it(client, query, message):
    response = client.get("/api/search", query_string={} if query is None else {"q": query})
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_bad_q_in_english(client):
    response = client.get("/api/search?lang=en")
    assert response.status_code == 400 and response.get_json()["error"] == "Missing parameter q"


def test_renamed_moved_and_deleted_places_keep_the_index_true(app, client, engine):
    def execute(sql):
        with engine.begin() as conn:
            conn.execute(sa.text(sql))

    execute("UPDATE compound SET name = '枫林新居' WHERE name = '枫林雅居'")
    assert found(client, "枫林雅居") == [] and found(client, "flyj") == []
    with app.app_context():
        assert search.refresh() == 1
        assert search.refresh() == 0
    renamed = found(client, "flxj")[0]
    assert renamed["name"] == "枫林新居"
    # a moved compound gets its new bounds and community at once
    execute("UPDATE compound SET geom = ST_Translate(geom, 0.001, 0), community_id = "
            "(SELECT id FROM community WHERE name = '龙溪社区') WHERE name = '枫林新居'")
    moved = found(client, "枫林新居")[0]
    assert moved["parent"] == "龙溪社区"
    assert moved["bounds"][0][1] == pytest.approx(renamed["bounds"][0][1] + 0.001)
    # a renamed community renames the parent of its compounds
    execute("UPDATE community SET name = '龙溪湾社区' WHERE name = '龙溪社区'")
    assert found(client, "枫林新居")[0]["parent"] == "龙溪湾社区"
    with app.app_context():
        assert search.refresh() == 1
    assert found(client, "lxwsq")[0]["name"] == "龙溪湾社区"
    # (an INSERT with VALUES, as the importers write places: on Citus an INSERT … SELECT from
    # one reference table into another runs on every node at once, and the state rewrite of
    # the place's trigger finds the workers' connections busy with it; docs/scaling.md §3.1)
    community = q(engine, "SELECT community_id FROM compound WHERE name = '枫林新居'")[0][0]
    execute(f"INSERT INTO compound (community_id, name, geom) VALUES ({community}, '临时小区', "
            "ST_Multi(ST_MakeEnvelope(113.40, 34.80, 113.401, 34.801, 4326)))")
    with app.app_context():
        assert search.refresh() == 1
    assert names(found(client, "lsxq")) == ["临时小区"]
    execute("DELETE FROM compound WHERE name = '临时小区'")
    assert found(client, "临时小区") == [] and found(client, "lsxq") == []


def test_pinyin_keys():
    assert search.pinyin_keys("江南小镇社区") == ("jnxzsq", "jiangnanxiaozhenshequ")
    assert search.pinyin_keys("SOHO小区（一期）3号院") == ("sohoxqyq3hy", "sohoxiaoquyiqi3haoyuan")
    assert search.pinyin_keys("第1网格") == ("d1wg", "di1wangge")
