"""Exports (issue ledger, 三长 roster, layers, community PDF): files that open, hold exactly
what the viewer may see, and never run a formula in a spreadsheet."""
import csv
import io
import re
from urllib.parse import quote

import openpyxl
import pyogrio
import pytest
import sqlalchemy as sa

from tests.helpers import PHONE, add_user, login, public_ledger_app, q


@pytest.fixture(scope="module")
def app(database):
    """The ledger opened to everyone (``PUBLIC_LEDGER``): this module reads it as the public."""
    yield from public_ledger_app(database)


MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")
FORMULA_TITLE = '=HYPERLINK("http://x","y")'
REPORTER = ("王大锤", "13912345678")


@pytest.fixture(scope="module")
def grid_id(engine):
    return q(engine, "SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                     "WHERE m.name = '汇丰社区' AND g.name = '第1网格'")[0][0]


@pytest.fixture(scope="module")
def people(app):
    add_user(app, "x_grid", "grid_leader", "汇丰社区/第1网格")
    add_user(app, "x_staff", "community_staff", "汇丰社区")
    add_user(app, "x_deputy", "deputy", "江南小镇社区")
    add_user(app, "x_official", "official")
    return True


@pytest.fixture(scope="module")
def formula_issue(engine, grid_id):
    """An issue in 汇丰社区/第1网格 whose texts look like spreadsheet formulas."""
    with engine.begin() as conn:
        issue_id = conn.execute(sa.text("""
            INSERT INTO issue (community_id, title, description, category, channel, stage, result, geom)
            SELECT c.community_id, :title, '+1+1', 'road', 'phone', 'publish', '+1+1', ST_PointOnSurface(c.geom)
              FROM compound c WHERE c.grid_id = :g ORDER BY c.id LIMIT 1 RETURNING id"""),
            {"title": FORMULA_TITLE, "g": grid_id}).scalar_one()
        conn.execute(sa.text("INSERT INTO issue_reporter (issue_id, community_id, name, phone) "
                             "SELECT id, community_id, '@cmd', '13900000000' FROM issue WHERE id = :i"),
                     {"i": issue_id})
    return issue_id


def client_for(app, name=None):
    client = app.test_client()
    return login(client, name) if name else client


def xlsx_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return sheet, rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def csv_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def test_the_ledger_as_xlsx_opens_with_a_bold_frozen_filtered_header(app, people):
    response = client_for(app, "x_official").get("/export/issues.xlsx")
    sheet, header, rows = xlsx_rows(response)
    assert header == ["编号", "标题", "类别", "渠道", "阶段", "社区", "网格", "楼院", "收集日期",
                      "阶段变更日期", "是否超期", "办理结果", "群众评价", "反映人", "电话"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width
    assert rows and {r["是否超期"] for r in rows} <= {"是", "否"}
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="issues-') and disposition.isascii()
    assert f"filename*=UTF-8''{quote('诉求台账_')}" in disposition


def test_the_ledger_has_the_issues_of_the_issue_list_for_the_same_filters(app, engine, people):
    client = client_for(app)
    community = q(engine, "SELECT id FROM community WHERE name = '汇丰社区'")[0][0]
    for query in ("", f"?area=community:{community}&stage=open", "?overdue=1", "?category=road&month=2024-01",
                  "?channel=phone&stage=closed"):
        listed = re.search(r'data-total="(\d+)"', client.get(f"/issues{query}").get_data(as_text=True))
        _header, rows = csv_rows(client.get(f"/export/issues.csv{query}"))
        assert len(rows) == int(listed.group(1)), query
    assert client.get("/export/issues.csv?stage=nonsense").status_code == 400


def test_formulas_are_neutralised_in_xlsx_and_csv(app, people, formula_issue):
    client = client_for(app, "x_grid")
    _sheet, _header, rows = xlsx_rows(client.get("/export/issues.xlsx"))
    row = next(r for r in rows if r["编号"] == formula_issue)
    assert (row["标题"], row["办理结果"], row["反映人"]) == ("'" + FORMULA_TITLE, "'+1+1", "'@cmd")
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/export/issues.xlsx").data)).active
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    _header, rows = csv_rows(client.get("/export/issues.csv"))
    row = next(r for r in rows if r["编号"] == str(formula_issue))
    assert (row["标题"], row["办理结果"], row["反映人"]) == ("'" + FORMULA_TITLE, "'+1+1", "'@cmd")
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())


def test_a_grid_leader_sees_reporters_in_full_only_in_their_grid(app, engine, people, grid_id, formula_issue):
    _sheet, _header, rows = xlsx_rows(client_for(app, "x_grid").get("/export/issues.xlsx"))
    mine = {i for (i,) in q(engine, "SELECT id FROM issue WHERE grid_id = :g", g=grid_id)}
    phones = {i: p for i, p in q(engine, "SELECT issue_id, phone FROM issue_reporter WHERE phone IS NOT NULL")}
    assert any(r["编号"] in mine and r["电话"] for r in rows)
    for r in rows:
        if r["编号"] in mine:
            assert r["电话"] == phones.get(r["编号"])
        elif r["电话"] is not None:
            assert MASKED_PHONE.fullmatch(r["电话"]) and "*" in (r["反映人"] or "*")
    others = {p for i, p in phones.items() if i not in mine}
    assert others and not others & {str(v) for r in rows for v in r.values()}


def test_the_public_ledger_has_no_reporter_and_no_phone_number(app, engine, formula_issue):
    response = client_for(app).get("/export/issues.csv")
    header, rows = csv_rows(response)
    assert "反映人" not in header and "电话" not in header
    assert not PHONE.search(response.data.decode("utf-8-sig"))
    _sheet, header, rows = xlsx_rows(client_for(app).get("/export/issues.xlsx"))
    assert "反映人" not in header and not any(PHONE.search(str(v)) for r in rows for v in r.values())
    reported = q(engine, "SELECT count(*) FROM issue WHERE stage = 'reported'")[0][0]
    assert reported and sum(r["标题"] == "「尚未确定议题」" for r in rows) == reported


def test_english_headers_on_request(app):
    header, _rows = csv_rows(client_for(app).get("/export/issues.csv?lang=en"))
    assert header[:3] == ["No.", "Title", "Category"]


def test_the_roster_of_a_grid_leader_holds_only_their_grid(app, engine, people, grid_id):
    _sheet, header, rows = xlsx_rows(client_for(app, "x_grid").get("/export/roster.xlsx"))
    assert header == ["社区", "网格", "楼院", "楼栋", "单元", "职务", "姓名", "电话", "任职日期", "聘书编号"]
    expected = q(engine, """SELECT c.name, h.phone FROM head h JOIN compound c ON c.id = h.compound_id
                             WHERE c.grid_id = :g AND h.retired_on IS NULL""", g=grid_id)
    assert len(rows) == len(expected) > 0
    assert {r["楼院"] for r in rows} == {name for name, _phone in expected}
    assert {(r["社区"], r["网格"]) for r in rows} == {("汇丰社区", "第1网格")}
    assert sorted(r["电话"] for r in rows) == sorted(phone for _name, phone in expected)


def test_the_roster_as_csv_for_community_staff_is_their_community(app, engine, people):
    header, rows = csv_rows(client_for(app, "x_staff").get("/export/roster.csv"))
    expected = q(engine, """SELECT count(*) FROM head h JOIN compound c ON c.id = h.compound_id
                             JOIN community m ON m.id = c.community_id
                            WHERE m.name = '汇丰社区' AND h.retired_on IS NULL""")[0][0]
    assert len(rows) == expected and {r["社区"] for r in rows} == {"汇丰社区"}


def test_the_roster_is_refused_to_deputies_and_the_public(app, people):
    assert client_for(app, "x_deputy").get("/export/roster.xlsx").status_code == 403
    signed_out = client_for(app).get("/export/roster.csv")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    assert client_for(app).get("/export/roster.csv", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("layer, count_sql", [
    ("communities", "SELECT count(*) FROM community"),
    ("grids", "SELECT count(*) FROM grid"),
    ("compounds", "SELECT count(*) FROM compound"),
    ("venues", "SELECT count(*) FROM venue"),
    ("issues", "SELECT count(*) FROM issue i JOIN stage s ON s.code = i.stage WHERE s.is_open"),
])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_layers_read_back_with_pyogrio(app, engine, people, tmp_path, layer, count_sql, fmt):
    response = client_for(app, "x_grid").get(f"/export/layers/{layer}.{fmt}?area=city")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{layer}-')
    path = tmp_path / f"{layer}.{fmt}"
    path.write_bytes(response.data)
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == q(engine, count_sql)[0][0]
    assert frame.crs.to_epsg() == 4326
    text = frame.drop(columns=frame.geometry.name).astype(str).to_string()
    assert not PHONE.search(text)


def test_a_layer_export_is_of_the_viewer_area_by_default(app, engine, people):
    """A grid leader's exports open on their community, as their pages do."""
    frame = client_for(app, "x_grid").get("/export/layers/compounds.geojson").get_json()
    expected = q(engine, "SELECT count(*) FROM compound c JOIN community m ON m.id = c.community_id "
                         "WHERE m.name = '汇丰社区'")[0][0]
    assert len(frame["features"]) == expected > 0


def test_grid_leader_names_are_masked_outside_the_area_in_layer_exports(app, people, tmp_path):
    path = tmp_path / "grids.gpkg"
    path.write_bytes(client_for(app, "x_grid").get("/export/layers/grids.gpkg?area=city").data)
    grids = pyogrio.read_dataframe(path)
    mine = (grids["community"] == "汇丰社区") & (grids["name"] == "第1网格")
    assert "*" not in grids.loc[mine, "leader"].iloc[0]
    assert grids.loc[~mine, "leader"].str.contains(r"\*").all()
    public = client_for(app).get("/export/layers/grids.geojson").get_json()
    assert all("*" in f["properties"]["leader"] for f in public["features"])


def test_an_unknown_layer_is_a_404(app):
    assert client_for(app).get("/export/layers/buildings.gpkg").status_code == 404


def test_the_community_report_pdf(app, engine):
    community = q(engine, "SELECT id FROM community WHERE name = '汇丰社区'")[0][0]
    response = client_for(app).get(f"/export/community/{community}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert b"/FontFile2" in response.data and b"NotoSansCJK" in response.data  # embedded CJK font
    assert len(re.findall(rb"/Type /Page\b(?!s)", response.data)) >= 2
    assert quote("汇丰社区_社区报告") in response.headers["Content-Disposition"]
    assert client_for(app).get("/export/community/99999.pdf").status_code == 404


def test_export_links_on_the_issue_list(app, people):
    page = client_for(app).get("/issues?stage=open").get_data(as_text=True)
    assert "/export/issues.xlsx?stage=open" in page and "/export/issues.csv?stage=open" in page
    assert "/export/roster.xlsx" not in page
    assert "/export/roster.xlsx" in client_for(app, "x_staff").get("/issues").get_data(as_text=True)
