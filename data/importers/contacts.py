"""Import the 三长 roster (电子底册) from .xlsx or .csv with Chinese headers, all or nothing.

Each row names a compound (and building and unit where the role needs one), a role from
the ``head_role`` table, a person and a phone. Every row is checked against the database
in the transaction that also writes; any error refuses the whole file.
"""
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from openpyxl.utils.exceptions import InvalidFileException
from tqdm import tqdm

from data.importers import ImportFailed
from data.importers.archive import check_zip
from layers import db
from layers.phones import normalise_phone

# Accepted headers for each field.
HEADERS = {
    "community": ("社区",),
    "compound": ("楼院",),
    "building": ("楼栋",),
    "unit": ("单元",),
    "role": ("职务", "角色"),
    "name": ("姓名",),
    "phone": ("电话", "联系电话"),
    "appointed_on": ("任职日期", "聘任日期"),
    "certificate_no": ("聘书编号",),
}
REQUIRED = ("compound", "role", "name", "phone")
CSV_ENCODINGS = ("utf-8-sig", "gbk")

DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass(frozen=True)
class Head:
    """One validated roster row, with database ids."""
    compound_id: int
    building_id: int | None
    unit_id: int | None
    role: str
    name: str
    phone: str
    appointed_on: dt.date | None
    certificate_no: str | None

    @property
    def key(self):
        return (self.compound_id, self.building_id, self.unit_id, self.role, self.name)


def import_contacts(eng, path, *, progress=True):
    """Import the 三长 roster, all or nothing.

    Rows are matched to current heads by (compound, building, unit, role, name): a match
    gets the row's phone, date and certificate number, anything else is a new head.

    Parameters
    ----------
    eng : sqlalchemy.Engine
    path : str or pathlib.Path
        An .xlsx workbook (first sheet) or a .csv file (UTF-8 with or without BOM, or
        GBK); the header is the first row.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    str
        A one-line summary in Chinese.

    Raises
    ------
    ImportFailed
        With one message per bad row (numbered as in the spreadsheet); nothing is written.
    """
    header, rows = _read(Path(path))
    columns = _columns(header)
    with db.transaction(eng) as conn:
        heads, errors = _check(rows, columns, _Places(conn), progress)
        if errors:
            raise ImportFailed(errors)
        existing = _current_heads(conn)
        updates = [h for h in heads if h.key in existing]
        inserts = [h for h in heads if h.key not in existing]
        _write(conn, updates, inserts, existing)
    return f"导入完成：新增 {len(inserts)} 名三长，更新 {len(updates)} 名"


# reading ------------------------------------------------------------------------------

def _read(path):
    """The header and the data rows with their spreadsheet row numbers (header = row 1);
    blank rows are skipped."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        records = _xlsx_records(path)
    elif suffix == ".csv":
        records = _csv_records(path)
    else:
        raise ImportFailed([f"不支持的文件类型 {path.suffix}：应为 .xlsx 或 .csv"])
    rows = [(number, values) for number, values in enumerate(records[1:], start=2)
            if any(_text(v) for v in values)]
    if not rows:
        raise ImportFailed(["文件中没有数据行"])
    return [_text(v) or "" for v in records[0]], rows


def _xlsx_records(path):
    check_zip(path)  # an .xlsx is a zip: no bomb, symlink or escaping member reaches openpyxl
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, InvalidFileException) as exc:
        raise ImportFailed([f"无法读取 Excel 文件：{exc}"]) from None
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _csv_records(path):
    data = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return list(csv.reader(io.StringIO(text, newline="")))
    raise ImportFailed(["CSV 文件既不是 UTF-8 也不是 GBK 编码，请另存为 UTF-8"])


def _columns(header):
    """Map each field to its column index; refuse a header without the required columns."""
    columns = {}
    for key, names in HEADERS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if found:
            columns[key] = found[0]
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise ImportFailed(["缺少列：" + "、".join("或".join(HEADERS[k]) for k in missing)
                            + f"（第 1 行是：{'、'.join(h for h in header if h)}）"])
    return columns


def _text(value):
    if value is None:
        return None
    # Excel keeps phone numbers typed without a leading quote as numbers.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _cell(values, index):
    value = values[index] if index < len(values) else None
    return value if isinstance(value, (dt.date, dt.datetime)) else _text(value)


# checking -----------------------------------------------------------------------------

class _Places:
    """Compounds, buildings, units and roles as stored, for looking rows up by name."""

    def __init__(self, conn):
        self.compounds = {}
        for r in conn.execute(sa.text(
                "SELECT c.id, c.name, m.name AS community FROM compound c"
                " JOIN community m ON m.id = c.community_id")).mappings():
            self.compounds.setdefault(r["name"], {})[r["community"]] = r["id"]
        self.communities = {r[0] for r in conn.execute(sa.text("SELECT name FROM community"))}
        self.buildings = {(r[0], r[1]): r[2] for r in conn.execute(sa.text(
            "SELECT compound_id, name, id FROM building"))}
        self.units = {(r[0], r[1]): r[2] for r in conn.execute(sa.text(
            "SELECT building_id, name, id FROM unit"))}
        self.roles, self.role_names = {}, []
        for code, name_zh, level in conn.execute(sa.text(
                "SELECT code, name_zh, level FROM head_role ORDER BY rank")):
            self.roles[code] = self.roles[name_zh] = (code, level)
            self.role_names.append(name_zh)


def _check(rows, columns, places, progress):
    """Validated heads, and one message per problem, naming the row."""
    heads, errors, first_row = [], [], {}
    for number, values in tqdm(rows, desc="检查名册", unit="行", disable=not progress):
        fields = {key: _cell(values, i) for key, i in columns.items()}
        reasons = []
        head = _head(fields, places, reasons)
        if head is not None and head.key in first_row:
            reasons.append(f"与第 {first_row[head.key]} 行重复")
        elif head is not None:
            first_row[head.key] = number
            heads.append(head)
        errors += [f"第 {number} 行：{reason}" for reason in reasons]
    return heads, errors


def _head(fields, places, reasons):
    """The row as a Head, or None with the reasons appended."""
    compound_id = _compound(fields, places, reasons)
    building_id, unit_id = _building_unit(compound_id, fields, places, reasons)
    role = _role(fields, places, reasons)
    if not fields.get("name"):
        reasons.append("姓名为空")
    phone = _phone(fields.get("phone"), reasons)
    appointed_on = _date(fields.get("appointed_on"), reasons)
    if reasons:
        return None
    return Head(compound_id, building_id, unit_id, role, fields["name"], phone,
                appointed_on, fields.get("certificate_no"))


def _compound(fields, places, reasons):
    name, community = fields.get("compound"), fields.get("community")
    if not name:
        reasons.append("楼院为空")
        return None
    if community and community not in places.communities:
        reasons.append(f"社区“{community}”不存在")
        return None
    matches = places.compounds.get(name, {})
    if community:
        if community not in matches:
            reasons.append(f"楼院“{name}”不在社区“{community}”中")
        return matches.get(community)
    if not matches:
        reasons.append(f"楼院“{name}”不存在")
        return None
    if len(matches) > 1:
        reasons.append(f"楼院“{name}”在多个社区都有（{'、'.join(sorted(matches))}），"
                       "请填写社区")
        return None
    return next(iter(matches.values()))


def _building_unit(compound_id, fields, places, reasons):
    building, unit = fields.get("building"), fields.get("unit")
    if unit and not building:
        reasons.append(f"填写了单元“{unit}”但没有楼栋")
        return None, None
    if compound_id is None or not building:
        return None, None
    building_id = places.buildings.get((compound_id, building))
    if building_id is None:
        reasons.append(f"楼栋“{building}”不在楼院“{fields['compound']}”中")
        return None, None
    unit_id = places.units.get((building_id, unit)) if unit else None
    if unit and unit_id is None:
        reasons.append(f"单元“{unit}”不在“{fields['compound']}{building}”中")
    return building_id, unit_id


def _role(fields, places, reasons):
    text = fields.get("role")
    if text not in places.roles:
        known = "、".join(places.role_names)
        problem = f"职务“{text}”未知" if text else "职务为空"
        reasons.append(f"{problem}，应为{known}之一")
        return None
    code, level = places.roles[text]
    # A unit without its building is reported already.
    if level in ("building", "unit") and not fields.get("building") and not fields.get("unit"):
        reasons.append(f"{text}须填写楼栋")
    if level == "unit" and not fields.get("unit"):
        reasons.append(f"{text}须填写单元")
    return code


def _phone(text, reasons):
    if not text:
        reasons.append("电话为空")
        return None
    phone = normalise_phone(text)
    if phone is None:
        reasons.append(f"电话“{text}”格式不对（手机号 11 位，或座机如 0371-12345678）")
    return phone


def _date(value, reasons):
    if isinstance(value, dt.datetime):
        return value.date()
    if value is None or isinstance(value, dt.date):
        return value
    match = DATE.fullmatch(value)
    if match:
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            pass
    reasons.append(f"日期“{value}”无法识别（应如 2024-03-01）")
    return None


# writing ------------------------------------------------------------------------------

def _current_heads(conn):
    """Heads not retired, by upsert key."""
    return {(r["compound_id"], r["building_id"], r["unit_id"], r["role"], r["name"]): r["id"]
            for r in conn.execute(sa.text(
                "SELECT id, compound_id, building_id, unit_id, role, name FROM head"
                " WHERE retired_on IS NULL")).mappings()}


def _write(conn, updates, inserts, existing):
    if updates:
        # Optional fields the file leaves empty keep their stored values.
        conn.execute(sa.text(
            "UPDATE head SET phone = :phone,"
            " appointed_on = COALESCE(:appointed_on, appointed_on),"
            " certificate_no = COALESCE(:certificate_no, certificate_no),"
            " version = version + 1 WHERE id = :id"),
            [dict(_params(h), id=existing[h.key]) for h in updates])
    if inserts:
        conn.execute(sa.text(
            "INSERT INTO head (role, name, phone, compound_id, building_id, unit_id,"
            " appointed_on, certificate_no) VALUES (:role, :name, :phone, :compound_id,"
            " :building_id, :unit_id, :appointed_on, :certificate_no)"),
            [_params(h) for h in inserts])


def _params(head):
    return {"role": head.role, "name": head.name, "phone": head.phone,
            "compound_id": head.compound_id, "building_id": head.building_id,
            "unit_id": head.unit_id, "appointed_on": head.appointed_on,
            "certificate_no": head.certificate_no}
