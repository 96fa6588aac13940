"""Real clients against /ogc served on a real port: GDAL's OAPIF driver (through pyogrio) and
OWSLib's OGC API – Features client."""
import json
import subprocess
import sys

import pytest
from owslib.ogcapi.features import Features
from shapely import from_wkt

from helpers import q

COLLECTIONS = ["districts", "subdistricts", "communities", "grids", "compounds", "buildings", "venues", "issues"]

# GDAL runs in its own process: pyogrio holds the GIL while GDAL fetches pages, and the server
# under test is a thread of this process.
GDAL = """
import json, sys, pyogrio
url, layer = sys.argv[1], sys.argv[2]
layers = [[str(n), str(t)] for n, t in pyogrio.list_layers(url)]
df = pyogrio.read_dataframe(url, layer=layer, fid_as_index=True)
print(json.dumps({"layers": layers, "crs": df.crs.to_string(), "columns": list(df.columns),
                  "rows": [[str(fid), geom.wkt] for fid, geom in zip(df.index, df.geometry)]}))
"""


def gdal(live_server, layer):
    out = subprocess.run([sys.executable, "-c", GDAL, "OAPIF:" + live_server + "/ogc", layer],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_gdal_lists_every_collection_and_reads_compounds(live_server, engine):
    result = gdal(live_server, "compounds")
    assert [name for name, _type in result["layers"]] == COLLECTIONS
    assert dict(result["layers"])["compounds"] == "MultiPolygon" and dict(result["layers"])["issues"] == "Point"
    assert result["crs"] in ("OGC:CRS84", "EPSG:4326")
    assert {"name", "community", "grid", "households", "open_issues"} <= set(result["columns"])
    expected = {str(i): from_wkt(wkt) for i, wkt in q(engine, "SELECT id, ST_AsText(geom) FROM compound")}
    got = {fid: from_wkt(wkt) for fid, wkt in result["rows"]}
    assert len(result["rows"]) == len(expected) == 62 and set(got) == set(expected)
    for fid, geom in got.items():
        assert geom.equals_exact(expected[fid], tolerance=1e-6), fid


@pytest.mark.parametrize("layer,table", [("districts", "district"), ("subdistricts", "subdistrict"),
                                         ("communities", "community"), ("grids", "grid"),
                                         ("buildings", "building"), ("venues", "venue"), ("issues", "issue")])
def test_gdal_reads_every_feature_of_each_collection(live_server, engine, layer, table):
    result = gdal(live_server, layer)
    assert sorted(int(fid) for fid, _wkt in result["rows"]) == [r[0] for r in q(engine, f"SELECT id FROM {table} ORDER BY id")]
    if layer == "issues":
        assert {"stage", "category", "community", "title", "reported_at", "closed_at"} <= set(result["columns"])


@pytest.fixture(scope="module")
def more_issues(engine):
    """Enough issues to page by 1,000 over several pages: copies of the sample's."""
    with engine.begin() as conn:
        conn.exec_driver_sql("""
            INSERT INTO issue (community_id, grid_id, compound_id, title, category, channel, stage, reported_at, geom)
            SELECT community_id, grid_id, compound_id, title, category, channel, 'reported', reported_at, geom
              FROM issue, generate_series(1, 7)""")
    return q(engine, "SELECT count(*) FROM issue")[0][0]


def test_owslib_lists_collections_and_pages_issues_by_1000(live_server, engine, more_issues):
    api = Features(live_server + "/ogc")
    assert [c["id"] for c in api.collections()["collections"]] == COLLECTIONS
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert more_issues > 2000
    seen, offset = [], 0
    while True:
        page = api.collection_items("issues", limit=1000, offset=offset)
        assert page["numberMatched"] == more_issues
        seen += [f["id"] for f in page["features"]]
        if not [link for link in page["links"] if link["rel"] == "next"]:
            break
        offset += 1000
    assert len(seen) == len(set(seen)) == more_issues
    assert offset == (more_issues - 1) // 1000 * 1000
    one = api.collection_item("issues", str(seen[0]))
    assert one["id"] == seen[0] and "reporter" not in json.dumps(one)
