"""data.importers.areas against the sample database: formats, CRS handling, text encodings,
geometry checks in PostGIS, and all-or-nothing writes."""
import numpy as np
import pytest
import shapely
import sqlalchemy as sa

import import_inputs as build
from data.importers import ImportFailed
from data.importers.areas import import_areas
from geo import crs as geo_crs

HUIFENG = "汇丰社区"
TABLES = ("district", "subdistrict", "community", "grid", "compound")


def counts(engine):
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def compound_geom(engine, name, what="ST_AsText(geom)"):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT {what} FROM compound WHERE name = :n"),
                            {"n": name}).scalar()


def refused(engine, run):
    """Run an import that must fail; return its errors after checking nothing was written."""
    before = counts(engine)
    with pytest.raises(ImportFailed) as failed:
        run()
    assert counts(engine) == before
    return failed.value.errors


def compound(name, lon, lat, community=HUIFENG, **extra):
    return ({"名称": name, "社区": community, **extra},
            build.polygon(build.ring(lon, lat)))


# formats ------------------------------------------------------------------------------

def test_geojson_compounds_are_added_with_grid_and_households(engine, tmp_path):
    with engine.connect() as conn:
        grid = conn.execute(sa.text(
            "SELECT g.name FROM grid g JOIN community c ON c.id = g.community_id"
            " WHERE c.name = :c ORDER BY g.id LIMIT 1"), {"c": HUIFENG}).scalar()
    path = build.geojson(tmp_path / "compounds.geojson", [
        compound("新增甲小区", 113.2801, 34.8001, 网格=grid, 户数=120),
        compound("新增乙小区", 113.2811, 34.8001),
    ])
    before = counts(engine)
    summary = import_areas(engine, path, progress=False)
    assert summary == "导入完成：新增 2 个楼院，更新 0 个"
    assert counts(engine)["compound"] == before["compound"] + 2
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT g.name AS grid, x.households, GeometryType(x.geom) AS type,"
            " ST_SRID(x.geom) AS srid FROM compound x LEFT JOIN grid g ON g.id = x.grid_id"
            " WHERE x.name = '新增甲小区'")).mappings().one()
    assert row == {"grid": grid, "households": 120, "type": "MULTIPOLYGON", "srid": 4326}


def test_reimport_replaces_the_geometry(engine, tmp_path):
    path = build.geojson(tmp_path / "again.geojson", [compound("溪畔美域", 113.2901, 34.8101)])
    before = counts(engine)
    assert import_areas(engine, path, progress=False) == "导入完成：新增 0 个楼院，更新 1 个"
    assert counts(engine) == before
    assert compound_geom(engine, "溪畔美域", "ST_XMin(geom)") == pytest.approx(113.2901)


def test_geopackage_layer_is_chosen_with_layer(engine, tmp_path):
    path = build.geopackage(tmp_path / "areas.gpkg", {
        "roads": build.frame([{"名称": "不是楼院", "geometry": build.square(113.28, 34.80)}]),
        "compounds": build.frame([{"名称": "图层小区", "社区": HUIFENG,
                                   "geometry": build.square(113.2821, 34.8001)}]),
    })
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == ["文件中有多个图层（roads、compounds），请用 --layer 指定"]
    summary = import_areas(engine, path, layer="compounds", progress=False)
    assert summary == "导入完成：新增 1 个楼院，更新 0 个"


def test_zipped_shapefile_in_cgcs2000_gauss_kruger_is_reprojected(engine, tmp_path):
    shape = build.square(113.2831, 34.8001)
    projected = build.frame([{"名称": "高斯小区", "社区": HUIFENG, "geometry": shape}]) \
        .to_crs("EPSG:4547")
    assert projected.total_bounds[0] > 400_000  # metres, false easting 500 km
    path = build.zipped_shapefile(tmp_path / "gk.zip", projected)
    assert import_areas(engine, path, progress=False) == "导入完成：新增 1 个楼院，更新 0 个"
    distance = compound_geom(
        engine, "高斯小区",
        f"ST_HausdorffDistance(geom, ST_GeomFromText('{shape.wkt}', 4326))")
    assert distance < 1e-7


def test_grid_and_community_kinds(engine, tmp_path):
    communities = build.geojson(tmp_path / "communities.geojson", [
        ({"名称": "新建社区"}, build.polygon(build.ring(113.30, 34.82, 0.003)))])
    assert (import_areas(engine, communities, kind="community", progress=False)
            == "导入完成：新增 1 个社区，更新 0 个")
    grids = build.geojson(tmp_path / "grids.geojson", [
        ({"name": "新建网格", "community": "新建社区"},
         build.polygon(build.ring(113.30, 34.82, 0.002)))])
    assert (import_areas(engine, grids, kind="grid", progress=False)
            == "导入完成：新增 1 个网格，更新 0 个")
    compounds = build.geojson(tmp_path / "compounds.geojson", [
        compound("新建社区小区", 113.3001, 34.8201, community="新建社区", 网格="新建网格")])
    assert import_areas(engine, compounds, progress=False) == "导入完成：新增 1 个楼院，更新 0 个"
    with engine.connect() as conn:
        subdistrict = conn.execute(sa.text(
            "SELECT s.name FROM community c JOIN subdistrict s ON s.id = c.subdistrict_id"
            " WHERE c.name = '新建社区'")).scalar()
        grid = conn.execute(sa.text(
            "SELECT g.name FROM compound x JOIN grid g ON g.id = x.grid_id"
            " WHERE x.name = '新建社区小区'")).scalar()
    assert subdistrict == "中心路街道"
    assert grid == "新建网格"


# the hierarchy, placed by containment --------------------------------------------------

def box(lon, lat, width, height=None):
    """A rectangle with its south-west corner at (lon, lat)."""
    height = width if height is None else height
    return build.polygon([[lon, lat], [lon + width, lat], [lon + width, lat + height],
                          [lon, lat + height], [lon, lat]])


def parent_of(engine, kind, name):
    parent, column = {"subdistrict": ("district", "district_id"), "community": ("subdistrict", "subdistrict_id"),
                      "grid": ("community", "community_id"), "compound": ("community", "community_id")}[kind]
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT p.name FROM {kind} x JOIN {parent} p ON p.id = x.{column}"
                                    f" WHERE x.name = :n"), {"n": name}).scalar()


@pytest.fixture(scope="module")
def east(engine, tmp_path_factory):
    """A district 东湖区 east of everything else: one subdistrict, two communities side by side
    (东一社区 west of 113.46, 东二社区 east of it) and a grid in 东一社区, each kind imported
    from its own file and placed by containment where the file names no parent."""
    folder = tmp_path_factory.mktemp("east")
    districts = build.geojson(folder / "districts.geojson", [({"名称": "东湖区"}, box(113.45, 34.70, 0.02))])
    assert import_areas(engine, districts, kind="district", progress=False) == "导入完成：新增 1 个区，更新 0 个"
    subdistricts = build.geopackage(folder / "subdistricts.gpkg", {"街道": build.frame(
        [{"name": "东湖街道", "geometry": build.square(113.45, 34.70, 0.02)}])})
    assert import_areas(engine, subdistricts, kind="subdistrict", progress=False) \
        == "导入完成：新增 1 个街道，更新 0 个"
    communities = build.geojson(folder / "communities.geojson", [
        ({"名称": "东一社区", "街道": "东湖街道"}, box(113.45, 34.70, 0.01, 0.02)),
        ({"名称": "东二社区"}, box(113.46, 34.70, 0.01, 0.02))])
    assert import_areas(engine, communities, kind="community", progress=False) \
        == "导入完成：新增 2 个社区，更新 0 个"
    grids = build.geojson(folder / "grids.geojson", [
        ({"名称": "东一网格", "网格长": "郝网格", "网格长电话": "138 0000 5555"}, box(113.45, 34.70, 0.005, 0.02))])
    assert import_areas(engine, grids, kind="grid", progress=False) == "导入完成：新增 1 个网格，更新 0 个"
    return folder


def test_each_level_goes_to_its_parent(engine, east):
    assert parent_of(engine, "subdistrict", "东湖街道") == "东湖区"
    assert parent_of(engine, "community", "东一社区") == "东湖街道"
    assert parent_of(engine, "community", "东二社区") == "东湖街道"
    assert parent_of(engine, "grid", "东一网格") == "东一社区"
    with engine.connect() as conn:
        leader = conn.execute(sa.text("SELECT leader_name, leader_phone FROM grid WHERE name = '东一网格'")).one()
    assert tuple(leader) == ("郝网格", "13800005555")


def test_compounds_without_a_community_column_go_where_they_lie(engine, east):
    path = build.geojson(east / "compounds.geojson", [
        ({"名称": "东一小区", "网格": "东一网格", "户数": 80}, build.polygon(build.ring(113.451, 34.701))),
        ({"名称": "东二小区"}, build.polygon(build.ring(113.465, 34.701))),
        # drawn 3 % over the community boundary: within the tolerance
        ({"名称": "边上小区"}, box(113.4500 - 0.00003, 34.710, 0.001)),
    ])
    assert import_areas(engine, path, progress=False) == "导入完成：新增 3 个楼院，更新 0 个"
    assert parent_of(engine, "compound", "东一小区") == "东一社区"
    assert parent_of(engine, "compound", "东二小区") == "东二社区"
    assert parent_of(engine, "compound", "边上小区") == "东一社区"
    with engine.connect() as conn:
        grid = conn.execute(sa.text("SELECT g.name FROM compound x JOIN grid g ON g.id = x.grid_id"
                                    " WHERE x.name = '东一小区'")).scalar()
        indexed = conn.execute(sa.text("SELECT parent FROM place_search WHERE kind = 'compound'"
                                       " AND name = '东二小区'")).scalar()
    assert grid == "东一网格"
    assert indexed == "东二社区"   # the search index is refreshed in the same transaction


def test_compounds_in_no_community_or_straddling_two_are_named(engine, east):
    path = build.geojson(east / "bad.geojson", [
        ({"名称": "好小区"}, build.polygon(build.ring(113.452, 34.701))),
        ({"名称": "骑墙小区"}, box(113.4598, 34.705, 0.0004)),
        ({"名称": "出界小区"}, box(113.4698, 34.705, 0.0004)),
        ({"名称": "野外小区"}, box(113.50, 34.705, 0.0004)),
        ({"名称": "没网格小区", "网格": "东一网格"}, build.polygon(build.ring(113.465, 34.703))),
    ])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    hint = "，无法按位置归属（可在“社区”列中写明）"
    assert errors == [
        f"要素 2（名称：骑墙小区）：跨越社区“东一社区”与“东二社区”{hint}",
        f"要素 3（名称：出界小区）：有 50% 的面积在社区“东二社区”之外{hint}",
        f"要素 4（名称：野外小区）：不在任何社区内{hint}",
        "要素 5（名称：没网格小区）：网格“东一网格”不在社区“东二社区”中",
    ]


def test_unknown_parents_and_bad_leader_phones_are_refused(engine, east):
    subdistricts = build.geojson(east / "sub.geojson", [
        ({"名称": "北湖街道", "区": "北湖区"}, box(113.45, 34.70, 0.01))])
    assert refused(engine, lambda: import_areas(engine, subdistricts, kind="subdistrict", progress=False)) \
        == ["要素 1（名称：北湖街道）：区“北湖区”不存在"]
    grids = build.geojson(east / "grids2.geojson", [
        ({"名称": "东二网格", "社区": "东二社区", "网格长电话": "12345"}, box(113.46, 34.70, 0.005))])
    assert refused(engine, lambda: import_areas(engine, grids, kind="grid", progress=False)) \
        == ["要素 1（名称：东二网格）：网格长电话“12345”格式不对（手机号 11 位，或座机如 0371-12345678）"]


def test_cli_imports_a_district(engine, runner, tmp_path):
    path = build.geojson(tmp_path / "d.geojson", [({"name": "命令行区"}, box(113.60, 34.70, 0.01))])
    result = runner.invoke(args=["import", "compounds", str(path), "--kind", "district"])
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 1 个区，更新 0 个" in result.output


# geometry -----------------------------------------------------------------------------

BOW_TIE = [[113.284, 34.800], [113.285, 34.801], [113.285, 34.800], [113.284, 34.801],
           [113.284, 34.800]]


def test_bow_tie_is_refused_with_the_postgis_reason(engine, tmp_path):
    path = build.geojson(tmp_path / "bowtie.geojson", [
        ({"名称": "蝴蝶小区", "社区": HUIFENG}, build.polygon(BOW_TIE))])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == ["要素 1（名称：蝴蝶小区）：几何无效：Self-intersection[113.2845 34.8005]"]


def test_bow_tie_is_repaired_with_make_valid(engine, tmp_path):
    path = build.geojson(tmp_path / "bowtie.geojson", [
        ({"名称": "修复小区", "社区": HUIFENG}, build.polygon(BOW_TIE))])
    summary = import_areas(engine, path, make_valid=True, progress=False)
    assert summary == "导入完成：新增 1 个楼院，更新 0 个，修复 1 个无效几何"
    assert compound_geom(engine, "修复小区", "ST_NumGeometries(geom)") == 2
    assert compound_geom(engine, "修复小区", "ST_IsValid(geom)") is True


def test_unclosed_ring_is_named(engine, tmp_path):
    # GDAL (3.12) passes an unclosed GeoJSON ring through with only a warning; GEOS then
    # refuses to build it. The importer names the feature instead of failing the file.
    path = build.geojson(tmp_path / "unclosed.geojson", [
        compound("好小区", 113.2861, 34.8001),
        ({"名称": "开口小区", "社区": HUIFENG}, build.polygon(build.ring(113.287, 34.80)[:-1])),
    ])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == ["要素 2（名称：开口小区）：环未闭合（首尾坐标不一致）"]


def test_empty_and_non_polygon_geometry_are_refused(engine, tmp_path):
    path = build.geojson(tmp_path / "empty.geojson", [
        ({"名称": "空小区", "社区": HUIFENG}, {"type": "Polygon", "coordinates": []}),
        ({"名称": "线小区", "社区": HUIFENG},
         {"type": "LineString", "coordinates": [[113.28, 34.80], [113.29, 34.81]]}),
        ({"名称": "无几何小区", "社区": HUIFENG}, None),
    ])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == [
        "要素 1（名称：空小区）：几何为空",
        "要素 2（名称：线小区）：几何类型是 LINESTRING，应为面（Polygon/MultiPolygon）",
        "要素 3（名称：无几何小区）：缺少几何",
    ]


def test_every_error_is_reported_and_nothing_written(engine, tmp_path):
    path = build.geojson(tmp_path / "mixed.geojson", [
        compound("混合好小区", 113.2871, 34.8001),
        ({"名称": "混合坏小区", "社区": HUIFENG}, build.polygon(BOW_TIE)),
        compound("无社区小区", 113.2881, 34.8001, community="不存在社区"),
        compound("错网格小区", 113.2891, 34.8001, 网格="第99网格"),
        compound("混合好小区", 113.2871, 34.8011),
        ({"名称": "", "社区": HUIFENG}, build.polygon(build.ring(113.29, 34.80))),
    ])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == [
        "要素 2（名称：混合坏小区）：几何无效：Self-intersection[113.2845 34.8005]",
        "要素 3（名称：无社区小区）：社区“不存在社区”不存在",
        f"要素 4（名称：错网格小区）：网格“第99网格”不在社区“{HUIFENG}”中",
        "要素 5（名称：混合好小区）：与要素 1 重复（同名楼院）",
        "要素 6：缺少名称",
    ]
    assert compound_geom(engine, "混合好小区") is None


def test_missing_columns_are_reported(engine, tmp_path):
    path = build.geojson(tmp_path / "columns.geojson", [
        ({"title": "甲"}, build.polygon(build.ring(113.28, 34.80)))])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert errors == ["缺少列：名称 或 name"]


# coordinates --------------------------------------------------------------------------

def test_swapped_lat_lon_is_refused(engine, tmp_path):
    swapped = [[lat, lon] for lon, lat in build.ring(113.28, 34.80)]
    path = build.geojson(tmp_path / "swapped.geojson", [
        ({"名称": "颠倒小区", "社区": HUIFENG}, build.polygon(swapped))])
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert len(errors) == 1
    assert errors[0].startswith("要素 1（名称：颠倒小区）：经纬度顺序颠倒")


def test_declared_crs_that_lands_outside_china_is_refused(engine, tmp_path):
    # Gauss-Kruger metres declared as Web Mercator: about 3.9°E, far from China.
    projected = build.frame([{"geometry": build.square(113.28, 34.80)}]).to_crs("EPSG:4547")
    metres = [list(xy) for xy in projected.geometry[0].exterior.coords]
    path = build.geojson(tmp_path / "mercator.geojson", [
        ({"名称": "错投影小区", "社区": HUIFENG}, build.polygon(metres))], crs=3857)
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert len(errors) == 1
    assert errors[0].startswith("要素 1（名称：错投影小区）：按坐标系 EPSG:3857（文件声明）转换后位于")
    assert errors[0].endswith("不在中国境内——坐标系是否有误？（wrong CRS?）")


def test_crs_option_that_lands_outside_china_is_refused(engine, tmp_path):
    path = build.geojson(tmp_path / "lonlat.geojson", [compound("经纬度小区", 113.28, 34.80)])
    errors = refused(engine, lambda: import_areas(engine, path, crs="4547", progress=False))
    assert "EPSG:4547（--crs）" in errors[0] and "wrong CRS?" in errors[0]


def test_projected_coordinates_without_crs_are_refused(engine, tmp_path):
    projected = build.frame([{"名称": "无投影小区", "社区": HUIFENG,
                              "geometry": build.square(113.28, 34.80)}]).to_crs("EPSG:4547")
    path = build.zipped_shapefile(tmp_path / "noprj.zip", projected, prj=False)
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert len(errors) == 1
    assert errors[0].startswith("文件未声明坐标系（Shapefile 缺少 .prj？）")
    assert "--crs 4547" in errors[0]
    # Told the CRS, the same file imports.
    assert import_areas(engine, path, crs="EPSG:4547", progress=False).startswith("导入完成")


def test_bad_crs_option_is_refused(engine, tmp_path):
    path = build.geojson(tmp_path / "a.geojson", [compound("甲", 113.28, 34.80)])
    errors = refused(engine, lambda: import_areas(engine, path, crs="wgs84", progress=False))
    assert errors == ["--crs wgs84 无效：应为 EPSG 代码（如 4547、EPSG:4490）或 gcj02"]


def test_gcj02_input_is_shifted_back_to_wgs84(engine, tmp_path):
    wgs = np.array(build.ring(113.2941, 34.8001))
    gcj = np.column_stack(geo_crs.wgs84_to_gcj02(wgs[:, 0], wgs[:, 1]))
    path = build.geojson(tmp_path / "amap.geojson", [
        ({"名称": "高德小区", "社区": HUIFENG}, build.polygon(gcj.tolist()))])
    assert (import_areas(engine, path, crs="gcj02", progress=False)
            == "导入完成：新增 1 个楼院，更新 0 个")
    with engine.connect() as conn:
        shift, error = conn.execute(sa.text(
            "SELECT ST_Distance(ST_Centroid(geom)::geography,"
            "                   ST_Centroid(ST_GeomFromText(:gcj, 4326))::geography),"
            "       ST_HausdorffDistance(geom, ST_GeomFromText(:wgs, 4326))"
            " FROM compound WHERE name = '高德小区'"),
            {"gcj": shapely.Polygon(gcj).wkt, "wgs": shapely.Polygon(wgs).wkt}).one()
    assert 570 < shift < 610  # GCJ-02's offset at 上街区, about 590 m
    assert error < 1e-7


# text encodings -----------------------------------------------------------------------

def gbk_compounds(first="溪畔新苑", second="颐和北院"):
    return build.frame([
        {"名称": first, "社区": HUIFENG, "geometry": build.square(113.2951, 34.8001)},
        {"名称": second, "社区": HUIFENG, "geometry": build.square(113.2961, 34.8001)},
    ])


def test_gbk_shapefile_with_cpg(engine, tmp_path):
    path = build.zipped_shapefile(tmp_path / "gbk.zip", gbk_compounds(), encoding="GBK")
    assert import_areas(engine, path, progress=False) == "导入完成：新增 2 个楼院，更新 0 个"
    assert compound_geom(engine, "溪畔新苑", "name") == "溪畔新苑"


def test_gbk_shapefile_without_cpg_is_detected(engine, tmp_path):
    # Without .cpg GDAL decodes the .dbf as ISO-8859-1: even the column names arrive as
    # mojibake ("Ãû³Æ" for 名称). The importer recognises it and reads again as GBK.
    path = build.zipped_shapefile(tmp_path / "gbk.zip", gbk_compounds("溪畔南苑", "颐和南院"),
                                  encoding="GBK", cpg=False)
    assert import_areas(engine, path, progress=False) == "导入完成：新增 2 个楼院，更新 0 个"
    assert compound_geom(engine, "颐和南院", "name") == "颐和南院"


def test_forced_wrong_encoding_is_refused(engine, tmp_path):
    path = build.zipped_shapefile(tmp_path / "gbk.zip", gbk_compounds(), encoding="GBK",
                                  cpg=False)
    errors = refused(engine, lambda: import_areas(engine, path, encoding="latin-1",
                                                  progress=False))
    assert errors[0] == "列名是乱码（Ãû³Æ、ÉçÇø），文本编码不对？"
    assert "要素 1：Ãû³Æ“ÏªÅÏÐÂÔ·”是乱码，文本编码不对？" in errors
    assert len([e for e in errors if e.startswith("要素 2：")]) == 2


def test_forced_undecodable_encoding_is_refused(engine, tmp_path):
    path = build.zipped_shapefile(tmp_path / "gbk.zip", gbk_compounds(), encoding="GBK")
    errors = refused(engine, lambda: import_areas(engine, path, encoding="UTF-8",
                                                  progress=False))
    assert len(errors) == 1 and errors[0].startswith("无法按编码 UTF-8 解码文件中的文本")


# the command line ---------------------------------------------------------------------

def test_cli_imports_and_reports_errors(engine, runner, tmp_path):
    good = build.geojson(tmp_path / "good.geojson", [compound("命令行小区", 113.2971, 34.8001)])
    result = runner.invoke(args=["import", "compounds", str(good)])
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 1 个楼院，更新 0 个" in result.output
    bad = build.geojson(tmp_path / "bad.geojson", [
        ({"名称": "命令行坏小区", "社区": HUIFENG}, build.polygon(BOW_TIE))])
    before = counts(engine)
    result = runner.invoke(args=["import", "compounds", str(bad), "--kind", "compound"])
    assert result.exit_code == 1
    assert "导入失败，未写入任何数据（1 个错误）" in result.output
    assert "要素 1（名称：命令行坏小区）：几何无效：Self-intersection" in result.output
    assert counts(engine) == before
