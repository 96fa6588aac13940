"""data.importers.contacts against the sample database: the 三长 roster from .xlsx and .csv,
row checks with spreadsheet row numbers, upserts, and all-or-nothing writes."""
import datetime as dt

import pytest
import sqlalchemy as sa

import import_inputs as build
from data.importers import ImportFailed
from data.importers.contacts import import_contacts
from layers.phones import normalise_phone

HEADER = ["社区", "楼院", "楼栋", "单元", "职务", "姓名", "电话", "任职日期", "聘书编号"]
COMPOUND = "溪畔美域"


@pytest.fixture(scope="module")
def place(engine):
    """A building and one of its units in the sample's 溪畔美域."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT m.name AS community, b.name AS building, u.name AS unit"
            " FROM compound c JOIN community m ON m.id = c.community_id"
            " JOIN building b ON b.compound_id = c.id JOIN unit u ON u.building_id = b.id"
            " WHERE c.name = :c ORDER BY b.id, u.id LIMIT 1"), {"c": COMPOUND}).mappings().one()


def head_count(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM head")).scalar()


def heads_named(engine, name):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT h.role, h.phone, h.appointed_on, h.certificate_no, h.version,"
            " b.name AS building, u.name AS unit FROM head h"
            " LEFT JOIN building b ON b.id = h.building_id LEFT JOIN unit u ON u.id = h.unit_id"
            " WHERE h.name = :n ORDER BY h.role"), {"n": name}).mappings().all()


def refused(engine, path):
    before = head_count(engine)
    with pytest.raises(ImportFailed) as failed:
        import_contacts(engine, path, progress=False)
    assert head_count(engine) == before
    return failed.value.errors


def test_xlsx_roster_is_imported(engine, place, tmp_path):
    path = build.xlsx(tmp_path / "roster.xlsx", [
        HEADER,
        [place["community"], COMPOUND, None, None, "楼院长", "测甲", "138 0000 9901",
         dt.datetime(2024, 3, 1), "ZXL-T-001"],
        [None, COMPOUND, place["building"], None, "楼栋长", "测乙", "138-0000-9902", None, None],
        [None, COMPOUND, place["building"], place["unit"], "unit_head", "测丙", 13800009903,
         "2024年3月5日", None],
        [None, None, None, None, None, None, None, None, None],  # blank rows are skipped
        [None, COMPOUND, None, None, "楼院长", "测丁", "0371-68889901", "2024/3/6", None],
    ])
    before = head_count(engine)
    assert import_contacts(engine, path, progress=False) == "导入完成：新增 4 名三长，更新 0 名"
    assert head_count(engine) == before + 4
    assert heads_named(engine, "测甲") == [dict(
        role="compound_head", phone="13800009901", appointed_on=dt.date(2024, 3, 1),
        certificate_no="ZXL-T-001", version=1, building=None, unit=None)]
    assert heads_named(engine, "测乙")[0]["building"] == place["building"]
    third = heads_named(engine, "测丙")[0]
    assert (third["role"], third["unit"], third["phone"], third["appointed_on"]) == (
        "unit_head", place["unit"], "13800009903", dt.date(2024, 3, 5))
    assert heads_named(engine, "测丁")[0]["phone"] == "0371-68889901"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_roster_is_imported_in_any_usual_encoding(engine, place, tmp_path, encoding):
    name = f"测{encoding}"
    path = build.csv_file(tmp_path / "roster.csv", [
        ["楼院", "楼栋", "角色", "姓名", "电话"],
        [COMPOUND, place["building"], "楼栋长", name, "13800009911"],
    ], encoding=encoding)
    assert import_contacts(engine, path, progress=False) == "导入完成：新增 1 名三长，更新 0 名"
    assert heads_named(engine, name)[0]["building"] == place["building"]


def test_reimport_updates_the_matching_head(engine, place, tmp_path):
    rows = [HEADER, [None, COMPOUND, place["building"], None, "楼栋长", "测更新",
                     "13800009921", "2024-01-01", "ZXL-T-100"]]
    import_contacts(engine, build.xlsx(tmp_path / "first.xlsx", rows), progress=False)
    rows[1][6:9] = ["13800009922", None, None]
    before = head_count(engine)
    summary = import_contacts(engine, build.xlsx(tmp_path / "second.xlsx", rows),
                              progress=False)
    assert summary == "导入完成：新增 0 名三长，更新 1 名"
    assert head_count(engine) == before
    # The phone is replaced; the date and certificate the file leaves empty are kept.
    assert heads_named(engine, "测更新") == [dict(
        role="building_head", phone="13800009922", appointed_on=dt.date(2024, 1, 1),
        certificate_no="ZXL-T-100", version=2, building=place["building"], unit=None)]


def test_unknown_compound_and_bad_phone_are_refused(engine, tmp_path):
    path = build.xlsx(tmp_path / "bad.xlsx", [
        ["楼院", "职务", "姓名", "电话"],
        ["某某小区", "楼院长", "测戊", "13800009931"],
        [COMPOUND, "楼院长", "测己", "12345"],
    ])
    assert refused(engine, path) == [
        "第 2 行：楼院“某某小区”不存在",
        "第 3 行：电话“12345”格式不对（手机号 11 位，或座机如 0371-12345678）",
    ]


def test_good_rows_are_not_written_when_any_row_is_bad(engine, place, tmp_path):
    path = build.xlsx(tmp_path / "mixed.xlsx", [
        HEADER,
        [None, COMPOUND, None, None, "楼院长", "测好", "13800009941", None, None],
        [None, COMPOUND, None, None, "楼栋长", "测无楼栋", "13800009942", None, None],
        [None, COMPOUND, place["building"], None, "单元长", "测无单元", "13800009943",
         None, None],
        [None, COMPOUND, "99号楼", None, "楼栋长", "测无此楼", "13800009944", None, None],
        [None, COMPOUND, place["building"], "9单元", "单元长", "测无此单元", "13800009945",
         None, None],
        [None, COMPOUND, None, place["unit"], "单元长", "测缺楼栋", "13800009946", None, None],
        [None, COMPOUND, None, None, "网格长", "测错职务", "13800009947", None, None],
        [None, COMPOUND, None, None, "楼院长", None, "13800009948", None, None],
        ["盛世社区", COMPOUND, None, None, "楼院长", "测错社区", "13800009949", None, None],
        [None, COMPOUND, None, None, "楼院长", "测好", "13800009941", "2024-13-01", None],
        [None, COMPOUND, None, None, "楼院长", "测好", "13800009941", None, None],
    ])
    building = place["building"]
    assert refused(engine, path) == [
        "第 3 行：楼栋长须填写楼栋",
        "第 4 行：单元长须填写单元",
        f"第 5 行：楼栋“99号楼”不在楼院“{COMPOUND}”中",
        f"第 6 行：单元“9单元”不在“{COMPOUND}{building}”中",
        f"第 7 行：填写了单元“{place['unit']}”但没有楼栋",
        "第 8 行：职务“网格长”未知，应为楼院长、楼栋长、单元长之一",
        "第 9 行：姓名为空",
        f"第 10 行：楼院“{COMPOUND}”不在社区“盛世社区”中",
        "第 11 行：日期“2024-13-01”无法识别（应如 2024-03-01）",
        "第 12 行：与第 2 行重复",
    ]
    assert heads_named(engine, "测好") == []


def test_missing_columns_are_named(engine, tmp_path):
    path = build.csv_file(tmp_path / "cols.csv", [["楼院", "姓名"], [COMPOUND, "测庚"]])
    assert refused(engine, path) == ["缺少列：职务或角色、电话或联系电话（第 1 行是：楼院、姓名）"]


@pytest.mark.parametrize("text,expected", [
    ("13800001234", "13800001234"), ("138 0000 1234", "13800001234"),
    ("138-0000-1234", "13800001234"), ("0371-12345678", "0371-12345678"),
    ("010 - 1234567", "010-1234567"), ("12800001234", None), ("1380000123", None),
    ("037112345678", None), ("abc", None),
])
def test_normalise_phone(text, expected):
    assert normalise_phone(text) == expected


def test_cli_imports_contacts(engine, runner, place, tmp_path):
    path = build.csv_file(tmp_path / "roster.csv", [
        ["楼院", "职务", "姓名", "电话"], [COMPOUND, "楼院长", "测命令行", "13800009951"]])
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert result.exit_code == 0, result.output
    assert "导入完成：新增 1 名三长，更新 0 名" in result.output
