"""OGC API – Features at /ogc: the protocol (links, paging, filters, CRS, errors) on the sample,
checked against the database."""
import json

import pytest
from openapi_spec_validator import validate

from helpers import add_user, login, q
from layers import users

COLLECTIONS = ["districts", "subdistricts", "communities", "grids", "compounds", "buildings", "venues", "issues"]
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def items(client, collection, query=""):
    response = client.get(f"/ogc/collections/{collection}/items?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return response.get_json()


def rels(doc):
    return {link["rel"] for link in doc["links"]}


def test_landing_links_the_api_conformance_and_collections(client):
    landing = client.get("/ogc").get_json()
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= rels(landing)
    api = client.get("/ogc/api")
    assert api.mimetype == "application/vnd.oai.openapi+json"
    validate(api.get_json())
    assert "/ogc/collections/{collectionId}/items" in api.get_json()["paths"]


def test_conformance_declares_what_is_implemented(client):
    classes = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    # of Part 3 the queryables and their query parameters; no filter language (CQL2), no tiles API
    assert {c.rsplit("/", 1)[1] for c in classes if "features-3" in c} == {"queryables",
                                                                          "queryables-query-parameters"}
    assert not [c for c in classes if "filter" in c or "cql" in c or "tiles" in c]


def test_collections_describe_extent_crs_and_tiles(client):
    doc = client.get("/ogc/collections").get_json()
    assert [c["id"] for c in doc["collections"]] == COLLECTIONS
    for c in doc["collections"]:
        assert c["storageCrs"].endswith("CRS84") and EPSG + "4490" in c["crs"] and EPSG + "4547" in c["crs"]
        minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
        assert 113.2 < minx < maxx < 113.4 and 34.7 < miny < maxy < 34.9
    by_id = {c["id"]: c for c in doc["collections"]}
    tiles = [link["href"] for link in by_id["compounds"]["links"] if link["rel"] == "tiles"]
    assert tiles and tiles[0].endswith("/tiles/compounds.json")
    assert client.get(tiles[0].replace("http://localhost", "")).status_code == 200
    assert not [link for link in by_id["venues"]["links"] if link["rel"] == "tiles"]
    first, last = by_id["issues"]["extent"]["temporal"]["interval"][0]
    assert first < last


@pytest.mark.parametrize("collection,table", [("districts", "district"), ("subdistricts", "subdistrict"),
                                              ("communities", "community"), ("grids", "grid"),
                                              ("compounds", "compound"), ("buildings", "building"),
                                              ("venues", "venue"), ("issues", "issue")])
def test_every_feature_of_every_collection(client, engine, collection, table):
    doc = items(client, collection, "limit=10000")
    ids = sorted(r[0] for r in q(engine, f"SELECT id FROM {table}"))
    assert doc["numberMatched"] == doc["numberReturned"] == len(ids) == len(doc["features"]) > 0
    assert [f["id"] for f in doc["features"]] == ids
    assert "next" not in rels(doc) and {"self", "alternate", "collection"} <= rels(doc)


def test_paging_with_offset_and_next_prev_links(client, engine):
    total = q(engine, "SELECT count(*) FROM issue")[0][0]
    seen, url, pages = [], "/ogc/collections/issues/items?limit=100", 0
    while url:
        doc = client.get(url).get_json()
        assert doc["numberMatched"] == total and doc["numberReturned"] == len(doc["features"])
        assert ("prev" in rels(doc)) == (pages > 0)
        seen += [f["id"] for f in doc["features"]]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else None
        pages += 1
    assert pages == -(-total // 100) and sorted(seen) == seen and len(set(seen)) == total
    assert items(client, "issues", f"offset={total}")["numberReturned"] == 0
    # ... and back by the prev links, page by page
    back, url = [], f"/ogc/collections/issues/items?limit=100&after={seen[-1] - 1}"
    while url:
        doc = client.get(url).get_json()
        back = [f["id"] for f in doc["features"]] + back
        prev = [link["href"] for link in doc["links"] if link["rel"] == "prev"]
        url = prev[0].replace("http://localhost", "") if prev else None
    assert back == seen


def test_keyset_pages_match_offset_pages(client):
    by_offset = items(client, "issues", "limit=30&offset=60&stage=closed")
    first = items(client, "issues", "limit=60&stage=closed")["features"]
    by_key = items(client, "issues", f"limit=30&stage=closed&after={first[-1]['id']}")
    assert [f["id"] for f in by_key["features"]] == [f["id"] for f in by_offset["features"]]
    assert by_key["numberMatched"] == by_offset["numberMatched"] > 90 and by_key["numberReturned"] == 30
    before = items(client, "issues", f"limit=30&stage=closed&before={by_key['features'][0]['id']}")
    assert [f["id"] for f in before["features"]] == [f["id"] for f in first[30:]]
    bad = client.get("/ogc/collections/issues/items?after=1&before=9")
    assert bad.status_code == 400 and "after" in bad.get_json()["description"]


@pytest.mark.parametrize("threshold", [0, 10**9])
def test_both_ways_of_finding_a_page_give_the_same_page(client, monkeypatch, threshold):
    from layers import ogc
    expected = items(client, "issues", "limit=40&bbox=113.28,34.80,113.30,34.82&after=10")
    monkeypatch.setattr(ogc, "FILTER_FIRST_BELOW", threshold)
    again = items(client, "issues", "limit=40&bbox=113.28,34.80,113.30,34.82&after=10")
    assert [f["id"] for f in again["features"]] == [f["id"] for f in expected["features"]]
    assert 0 < again["numberReturned"] <= 40


def test_number_matched_follows_a_change(client, engine):
    category, other = [r[0] for r in q(engine, "SELECT code FROM category ORDER BY ordinal LIMIT 2")]
    before = items(client, "issues", f"category={category}&limit=1")["numberMatched"]
    assert before == q(engine, "SELECT count(*) FROM issue WHERE category = :c", c=category)[0][0]
    moved = q(engine, "SELECT id FROM issue WHERE category = :o ORDER BY id LIMIT 1", o=other)[0][0]
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE issue SET category = '{category}' WHERE id = {moved}")
    assert items(client, "issues", f"category={category}&limit=1")["numberMatched"] == before + 1


def test_queryables_are_a_json_schema_of_the_filters(client, engine):
    collection = client.get("/ogc/collections/issues").get_json()
    link = [l for l in collection["links"] if l["rel"].endswith("/queryables")]
    assert link and link[0]["type"] == "application/schema+json"
    response = client.get("/ogc/collections/issues/queryables")
    assert response.status_code == 200 and response.mimetype == "application/schema+json"
    doc = response.get_json()
    assert doc["type"] == "object" and set(doc["properties"]) == {"stage", "category", "community"}
    assert doc["properties"]["stage"]["enum"] == [r[0] for r in q(engine, "SELECT code FROM stage ORDER BY ordinal")]
    assert set(doc["properties"]["category"]["enum"]) == {r[0] for r in q(engine, "SELECT code FROM category")}
    # every queryable filters items
    for name, prop in doc["properties"].items():
        value = prop.get("enum", [None])[0] or q(engine, "SELECT name FROM community ORDER BY id LIMIT 1")[0][0]
        assert client.get(f"/ogc/collections/issues/items?{name}={value}&limit=1").status_code == 200
    assert client.get("/ogc/collections/nowhere/queryables").status_code == 404
    page = client.get("/ogc/collections/issues/queryables?f=html").get_data(as_text=True)
    assert "<code>stage</code>" in page and "reported" in page


def _compound_heads(client, headers=None):
    doc = client.get("/ogc/collections/compounds/items?limit=1000", headers=headers or {}).get_json()
    return {f["id"]: f["properties"] for f in doc["features"]}


def test_an_api_key_reads_its_area_in_full_and_masks_the_rest(app, client, engine):
    community_id, name = q(engine, "SELECT m.id, m.name FROM community m JOIN compound c ON c.community_id = m.id "
                                   "JOIN head h ON h.compound_id = c.id ORDER BY m.id LIMIT 1")[0]
    phones = {r[0]: r[1] for r in q(engine, "SELECT c.id, h.phone FROM head h JOIN compound c ON c.id = h.compound_id "
                                            "JOIN head_role r ON r.code = h.role "
                                            "WHERE r.level = 'compound' AND h.retired_on IS NULL AND h.phone IS NOT NULL")}
    inside = {r[0] for r in q(engine, "SELECT id FROM compound WHERE community_id = :c", c=community_id)}
    assert inside & set(phones) and set(phones) - inside
    with app.app_context():
        area_key = users.add_api_key("ogc_area", area=name)
        whole_key = users.add_api_key("ogc_whole", whole=True)
        public_key = users.add_api_key("ogc_public")

    def shown(props):
        return {h["phone"] for h in props["heads"] or [] if h["phone"]}

    scoped = _compound_heads(client, {"X-API-Key": area_key})
    for compound, props in scoped.items():
        if compound in phones:
            assert (phones[compound] in shown(props)) == (compound in inside), compound
    whole = _compound_heads(client, {"Authorization": f"Bearer {whole_key}"})
    assert all(phones[c] in shown(whole[c]) for c in phones)
    assert _compound_heads(client, {"X-API-Key": public_key}) == _compound_heads(client)
    assert not any(shown(p) for p in _compound_heads(client).values())
    with app.app_context():
        users.disable_api_key("ogc_area")
    assert client.get("/ogc/collections/compounds/items", headers={"X-API-Key": area_key}).status_code == 401


def test_apikeys_cli_add_with_an_area_list_and_disable(app, engine):
    runner = app.test_cli_runner()
    name = q(engine, "SELECT name FROM community ORDER BY id LIMIT 1")[0][0]
    added = runner.invoke(args=["apikeys", "add", "qgis_desk", "--area", name])
    assert added.exit_code == 0 and len(added.output.strip()) >= 40
    assert runner.invoke(args=["apikeys", "add", "nowhere", "--area", "没有的社区"]).exit_code == 1
    listed = runner.invoke(args=["apikeys", "list"]).output
    assert "qgis_desk" in listed and name in listed and added.output.strip() not in listed
    assert runner.invoke(args=["apikeys", "disable", "qgis_desk"]).exit_code == 0
    assert "已停用" in runner.invoke(args=["apikeys", "list"]).output.split("qgis_desk")[1].splitlines()[0]
    assert q(engine, "SELECT count(*) FROM api_key WHERE name = 'nowhere'")[0][0] == 0


def test_limit_is_capped_at_ten_thousand(client):
    assert items(client, "buildings", "limit=50000")["numberReturned"] == items(client, "buildings", "limit=10000")["numberReturned"]


def test_bbox_selects_what_meets_the_box(client, engine):
    box = "113.28,34.80,113.29,34.81"
    doc = items(client, "compounds", f"bbox={box}&limit=1000")
    expected = [r[0] for r in q(engine, "SELECT id FROM compound WHERE geom && ST_MakeEnvelope(113.28,34.80,113.29,34.81,4326) ORDER BY id")]
    assert [f["id"] for f in doc["features"]] == expected and 0 < len(expected) < 62
    # a whole-world box, as QGIS sends for a full view, is no error
    assert items(client, "compounds", "bbox=-180,-90,180,90")["numberMatched"] == 62


def test_datetime_instant_intervals_and_open_ends(client, engine):
    day = q(engine, "SELECT (reported_at AT TIME ZONE 'Asia/Shanghai')::date FROM issue ORDER BY id LIMIT 1")[0][0]

    def count(where):
        return q(engine, f"SELECT count(*) FROM issue WHERE {where}")[0][0]

    since = "(reported_at AT TIME ZONE 'Asia/Shanghai')::date"
    assert items(client, "issues", f"datetime={day}&limit=1000")["numberMatched"] == count(f"{since} = '{day}'") > 0
    assert items(client, "issues", f"datetime={day}/..")["numberMatched"] == count(f"{since} >= '{day}'")
    assert items(client, "issues", f"datetime=../{day}")["numberMatched"] == count(f"{since} <= '{day}'")
    assert items(client, "issues", f"datetime=2020-01-01T00:00:00Z/{day}T00:00:00%2B08:00")["numberMatched"] == \
        count(f"reported_at < '{day} 00:00:01+08'")
    # a collection without time keeps all its features
    assert items(client, "compounds", f"datetime={day}")["numberMatched"] == 62


def test_property_filters(client, engine):
    closed = q(engine, "SELECT count(*) FROM issue WHERE stage = 'closed'")[0][0]
    doc = items(client, "issues", "stage=closed&limit=1000")
    assert doc["numberMatched"] == closed > 0 and {f["properties"]["stage"] for f in doc["features"]} == {"closed"}
    both = q(engine, "SELECT count(*) FROM issue WHERE stage IN ('closed', 'reported')")[0][0]
    assert items(client, "issues", "stage=closed,reported")["numberMatched"] == both
    n = q(engine, "SELECT count(*) FROM issue i JOIN community m ON m.id = i.community_id "
                  "WHERE m.name = '汇丰社区' AND i.category = 'road'")[0][0]
    assert items(client, "issues", "community=汇丰社区&category=road")["numberMatched"] == n > 0
    assert items(client, "compounds", "community=汇丰社区")["numberMatched"] == \
        q(engine, "SELECT count(*) FROM compound c JOIN community m ON m.id = c.community_id WHERE m.name = '汇丰社区'")[0][0]


def test_one_item_and_its_crs(client, engine):
    lon, lat = q(engine, "SELECT ST_X(geom), ST_Y(geom) FROM issue WHERE id = 1")[0]
    response = client.get("/ogc/collections/issues/items/1")
    assert response.mimetype == "application/geo+json"
    assert response.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    feature = response.get_json()
    assert feature["id"] == 1 and feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert {"self", "alternate", "collection"} <= rels(feature)
    # CGCS2000 geographic: latitude first, as EPSG:4490 defines it
    cgcs = client.get(f"/ogc/collections/issues/items/1?crs={EPSG}4490")
    assert cgcs.headers["Content-Crs"] == f"<{EPSG}4490>"
    assert cgcs.get_json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-5)
    # Gauss-Kruger 3-degree zone, central meridian 114E: northing first
    north, east = q(engine, "SELECT ST_Y(g), ST_X(g) FROM (SELECT ST_Transform(geom, 4547) g FROM issue WHERE id = 1) x")[0]
    gk = client.get("/ogc/collections/issues/items/1?crs=EPSG:4547").get_json()["geometry"]["coordinates"]
    assert gk == pytest.approx([north, east], abs=0.01) and 3.8e6 < gk[0] < 3.9e6 and 3e5 < gk[1] < 5e5


def test_bbox_crs(client, engine):
    expected = items(client, "compounds", "bbox=113.28,34.80,113.29,34.81")["numberMatched"]
    lat_lon = items(client, "compounds", f"bbox=34.80,113.28,34.81,113.29&bbox-crs={EPSG}4490")
    assert lat_lon["numberMatched"] == expected
    minn, mine, maxn, maxe = q(engine, "SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e) FROM ST_Transform("
                                       "ST_MakeEnvelope(113.28,34.80,113.29,34.81,4326), 4547) e")[0]
    gk = items(client, "compounds", f"bbox={minn},{mine},{maxn},{maxe}&bbox-crs={EPSG}4547&crs={EPSG}4547")
    assert gk["numberMatched"] >= expected > 0
    x, y = gk["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 3.8e6 < x < 3.9e6 and 3e5 < y < 5e5


@pytest.mark.parametrize("url,status,field", [
    ("/ogc/collections/nothing", 404, "nothing"),
    ("/ogc/collections/nothing/items", 404, "nothing"),
    ("/ogc/collections/issues/items/999999", 404, "999999"),
    ("/ogc/collections/issues/items/abc", 404, "abc"),
    ("/ogc/collections/issues/items?bbox=1,2,3", 400, "bbox"),
    ("/ogc/collections/issues/items?bbox=a,b,c,d", 400, "bbox"),
    ("/ogc/collections/issues/items?bbox=113.3,34.8,113.2,34.9", 400, "bbox"),
    ("/ogc/collections/issues/items?bbox=100,95,101,96", 400, "bbox"),
    ("/ogc/collections/issues/items?bbox=1e30,1e30,2e30,2e30&bbox-crs=EPSG:4547", 400, "bbox"),
    ("/ogc/collections/issues/items?offset=99999999999999999999", 400, "offset"),
    ("/ogc/collections/issues/items?limit=0", 400, "limit"),
    ("/ogc/collections/issues/items?limit=ten", 400, "limit"),
    ("/ogc/collections/issues/items?offset=-1", 400, "offset"),
    ("/ogc/collections/issues/items?datetime=yesterday", 400, "datetime"),
    ("/ogc/collections/issues/items?datetime=../..", 400, "datetime"),
    ("/ogc/collections/issues/items?datetime=2025-02-01/2025-01-01", 400, "datetime"),
    ("/ogc/collections/issues/items?crs=EPSG:3857", 400, "crs"),
    ("/ogc/collections/issues/items?bbox=1,2,3,4&bbox-crs=EPSG:3857", 400, "bbox-crs"),
    ("/ogc/collections/compounds/items?stage=closed", 400, "stage"),
    ("/ogc/collections/issues/items?f=xml", 400, "f"),
])
def test_bad_requests_are_json_errors_naming_the_field(client, url, status, field):
    response = client.get(url)
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == status and field in body["description"] and body["code"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_errors_in_english_on_request(client):
    zh = client.get("/ogc/collections/issues/items?limit=0").get_json()["description"]
    en = client.get("/ogc/collections/issues/items?limit=0&lang=en").get_json()["description"]
    assert "参数" in zh and en.startswith("Parameter limit") and "参数" not in en
    assert client.get("/ogc/collections/x?lang=en").get_json()["description"] == "No such collection: x"


def test_html_for_a_browser(client):
    page = client.get("/ogc/collections/compounds/items?limit=5", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert text.count("<tr>") == 6 and "楼院" in text
    assert "{'role'" not in text and "楼院长" in text   # the 三长 as text, not a Python repr
    assert client.get("/ogc/collections?f=html").mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "*/*"}).mimetype == "application/json"


def personal(engine):
    """Every name and phone of a person the database holds."""
    values = set()
    for sql in ("SELECT name, phone FROM head", "SELECT leader_name, leader_phone FROM grid",
                "SELECT name, phone FROM issue_reporter", "SELECT name, phone FROM deputy"):
        for row in q(engine, sql):
            values |= {v for v in row if v}
    return values


def strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def test_nothing_personal_for_an_anonymous_client(client, engine):
    secret = personal(engine)
    assert len(secret) > 100
    for collection in COLLECTIONS:
        doc = items(client, collection, "limit=10000")
        leaked = {s for f in doc["features"] for s in strings(f["properties"]) if s in secret}
        assert leaked == set(), collection
        text = json.dumps(doc, ensure_ascii=False)
        assert not [p for p in secret if len(p) >= 7 and p in text], collection
    reported = items(client, "issues", "stage=reported&limit=1000")["features"]
    assert reported and all(f["properties"]["title"] is None for f in reported)
    topics = items(client, "issues", "stage=topic,closed&limit=1000")["features"]
    assert topics and all(f["properties"]["title"] for f in topics)


def test_a_signed_in_viewer_sees_their_area_in_full(app, client, engine):
    community_id, name = q(engine, "SELECT m.id, m.name FROM community m JOIN issue i ON i.community_id = m.id "
                                   "WHERE i.stage = 'reported' ORDER BY m.id LIMIT 1")[0]
    add_user(app, "ogc_staff", "community_staff", name)
    login(client, "ogc_staff")
    leaders = {r[0]: r[1] for r in q(engine, "SELECT id, leader_name FROM grid WHERE leader_name IS NOT NULL")}
    inside = {r[0] for r in q(engine, "SELECT id FROM grid WHERE community_id = :c", c=community_id)}
    grids = items(client, "grids", "limit=1000")["features"]
    assert inside & set(leaders)
    for f in grids:
        if f["id"] in leaders:
            assert (f["properties"]["leader"] == leaders[f["id"]]) == (f["id"] in inside)
    titles = {f["id"]: f["properties"]["title"] for f in items(client, "issues", "stage=reported&limit=1000")["features"]}
    mine = {r[0] for r in q(engine, "SELECT id FROM issue WHERE stage = 'reported' AND community_id = :c", c=community_id)}
    assert mine and all(titles[i] for i in mine) and all(titles[i] is None for i in set(titles) - mine)


def test_api_keys_must_be_valid(app, client):
    with app.app_context():
        key = users.add_api_key("ogc_gis")
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        assert client.get("/ogc/collections/issues/items?limit=1", headers=headers).status_code == 200
    for headers in ({"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = client.get("/ogc/collections/issues/items?limit=1&lang=en", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["description"] == "The API key is invalid or disabled"


def test_answers_vary_by_format_and_session(client):
    vary = client.get("/ogc/collections/venues/items?limit=1").headers["Vary"]
    assert "Accept" in vary and "Cookie" in vary


def test_large_pages_are_gzipped_for_clients_that_accept_it(client):
    import gzip
    plain = client.get("/ogc/collections/issues/items?limit=1000")
    packed = client.get("/ogc/collections/issues/items?limit=1000", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) * 4 < len(plain.data)
    strip = lambda doc: {k: v for k, v in doc.items() if k != "timeStamp"}
    assert strip(json.loads(gzip.decompress(packed.data))) == strip(plain.get_json())
    assert "Accept-Encoding" in packed.headers["Vary"] and "X-API-Key" in packed.headers["Vary"]
    small = client.get("/ogc/collections/venues/items?limit=1", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


def test_stage_and_category_names_in_the_language_asked(client, engine):
    zh = items(client, "issues", "limit=1")["features"][0]["properties"]
    en = items(client, "issues", "limit=1&lang=en")["features"][0]["properties"]
    names = q(engine, "SELECT name_zh, name_en FROM stage WHERE code = :c", c=zh["stage"])[0]
    assert (zh["stage_name"], en["stage_name"]) == tuple(names)
    assert en["category_name"] == q(engine, "SELECT name_en FROM category WHERE code = :c", c=en["category"])[0][0]


def test_phones_shown_are_logged_and_only_those(app, client, engine):
    with app.app_context():
        key = users.add_api_key("ogc_logged", whole=True)
    logged = lambda: q(engine, "SELECT subject_kind, subject_id FROM personal_data_access "
                               "WHERE user_name = 'API key ogc_logged' ORDER BY 1, 2")
    page = client.get("/ogc/collections/compounds/items?limit=2", headers={"X-API-Key": key}).get_json()
    ids = [f["id"] for f in page["features"]]
    shown = sorted([("head", h) for (h,) in q(engine, """
        SELECT h.id FROM head h JOIN head_role r ON r.code = h.role
         WHERE h.compound_id = ANY(:ids) AND r.level = 'compound' AND h.retired_on IS NULL
           AND h.phone IS NOT NULL""", ids=ids)] + [("grid_leader", g) for (g,) in q(engine, """
        SELECT DISTINCT g.id FROM compound c JOIN grid g ON g.id = c.grid_id
         WHERE c.id = ANY(:ids) AND g.leader_phone IS NOT NULL""", ids=ids)])
    assert shown and logged() == shown          # the 60 other compounds' phones were counted, not shown
    assert {h["phone"] for f in page["features"] for h in f["properties"]["heads"] or []} - {None}
    building = q(engine, "SELECT b.id FROM building b JOIN head h ON h.building_id = b.id "
                         "WHERE h.phone IS NOT NULL ORDER BY b.id LIMIT 1")[0][0]
    assert client.get(f"/ogc/collections/buildings/items/{building}", headers={"X-API-Key": key}).status_code == 200
    heads = {h for (h,) in q(engine, "SELECT id FROM head WHERE building_id = :b AND phone IS NOT NULL "
                                     "AND retired_on IS NULL", b=building)}
    assert heads <= {s for k, s in logged() if k == "head"}
    before = q(engine, "SELECT count(*) FROM personal_data_access")[0][0]
    client.get("/ogc/collections/compounds/items?limit=1000")         # the public: masked, nothing logged
    client.get("/ogc/collections/buildings/items?limit=1000")
    assert q(engine, "SELECT count(*) FROM personal_data_access")[0][0] == before
