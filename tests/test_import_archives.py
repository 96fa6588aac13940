"""Hostile zip archives given to the importers (zipped Shapefiles and .xlsx rosters): zip
bombs, symlinks and members that escape the folder are refused, naming the member, before
anything is unpacked, and nothing is written."""
import stat
import struct
import zipfile

import pytest

import import_inputs as build
from data.importers import ImportFailed, archive
from data.importers.areas import import_areas
from data.importers.contacts import import_contacts
from tests.helpers import q

TABLES = ("compound", "grid", "community", "head")


def counts(engine):
    return {t: q(engine, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def refused(engine, run):
    before = counts(engine)
    with pytest.raises(ImportFailed) as failed:
        run()
    assert counts(engine) == before
    return "\n".join(failed.value.errors)


def a_shapefile(tmp_path):
    """A good zipped Shapefile: one compound in 汇丰社区."""
    return build.zipped_shapefile(tmp_path / "good.zip", build.frame(
        [{"名称": "安全小区", "社区": "汇丰社区", "geometry": build.square(113.2833, 34.8003)}]))


def with_member(source, target, info, data):
    """``source``'s members plus one more."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            new.writestr(member, old.read(member))
        new.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def test_a_zip_bomb_member_is_refused_by_its_ratio(engine, tmp_path):
    bomb = with_member(a_shapefile(tmp_path), tmp_path / "bomb.zip",
                       zipfile.ZipInfo("padding.dbf"), b"\0" * (20 * 1024 ** 2))
    errors = refused(engine, lambda: import_areas(engine, bomb, progress=False))
    assert "压缩包成员“padding.dbf”" in errors and "压缩比" in errors and "压缩炸弹" in errors


def test_a_declared_size_beyond_the_total_limit_is_refused_before_unpacking(engine, tmp_path):
    path = tmp_path / "huge.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("huge.shp", b"x" * 1000)
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 3 * 1024 ** 3 - 1)   # uncompressed size: ~3 GB
    path.write_bytes(bytes(raw))
    errors = refused(engine, lambda: import_areas(engine, path, progress=False))
    assert "压缩包解压后共 3,072 MB，超过上限 1,024 MB" in errors and "“huge.shp”" in errors


@pytest.mark.parametrize("name, reason", [("../../etc/cron.d/x.shp", "“..”"),
                                          ("/tmp/abs.shp", "绝对路径"),
                                          ("C:\\windows\\x.shp", "绝对路径"),
                                          ("sub\\..\\..\\x.shp", "“..”")])
def test_members_escaping_the_folder_are_refused(engine, tmp_path, name, reason):
    bad = with_member(a_shapefile(tmp_path), tmp_path / "escape.zip", zipfile.ZipInfo(name), b"x")
    errors = refused(engine, lambda: import_areas(engine, bad, progress=False))
    assert f"压缩包成员“{name}”" in errors and reason in errors


def test_a_symlink_member_is_refused(engine, tmp_path):
    link = zipfile.ZipInfo("link.cpg")
    link.create_system = 3   # Unix, so the mode bits count
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bad = with_member(a_shapefile(tmp_path), tmp_path / "link.zip", link, b"/etc/passwd")
    errors = refused(engine, lambda: import_areas(engine, bad, progress=False))
    assert "压缩包成员“link.cpg”是符号链接" in errors


def test_a_good_zipped_shapefile_still_imports(engine, tmp_path):
    assert import_areas(engine, a_shapefile(tmp_path), progress=False) == "导入完成：新增 1 个楼院，更新 0 个"


def test_an_xlsx_bomb_is_refused_before_openpyxl_reads_it(engine, tmp_path):
    good = build.xlsx(tmp_path / "roster.xlsx", [["楼院", "职务", "姓名", "电话"],
                                                 ["溪畔美域", "楼院长", "测试", "13800000000"]])
    bomb = with_member(good, tmp_path / "bomb.xlsx", zipfile.ZipInfo("xl/worksheets/sheet9.xml"),
                       b" " * (50 * 1024 ** 2))
    errors = refused(engine, lambda: import_contacts(engine, bomb, progress=False))
    assert "“xl/worksheets/sheet9.xml”" in errors and "压缩炸弹" in errors
    link = zipfile.ZipInfo("xl/media/evil.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    linked = with_member(good, tmp_path / "link.xlsx", link, b"/etc/shadow")
    assert "符号链接" in refused(engine, lambda: import_contacts(engine, linked, progress=False))


def test_the_cli_names_the_member_and_writes_nothing(runner, engine, tmp_path):
    bad = with_member(a_shapefile(tmp_path), tmp_path / "escape.zip", zipfile.ZipInfo("../x.shp"), b"x")
    before = counts(engine)
    result = runner.invoke(args=["import", "compounds", str(bad)])
    assert result.exit_code == 1
    assert "导入失败，未写入任何数据" in result.output and "压缩包成员“../x.shp”" in result.output
    assert counts(engine) == before


def test_limits_are_the_documented_ones():
    readme = open("README.md", encoding="utf-8").read()
    assert archive.MAX_TOTAL_BYTES == 1024 ** 3 and archive.MAX_RATIO == 200
    assert "1 GB" in readme and "200:1" in readme
