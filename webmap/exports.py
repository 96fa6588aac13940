"""`GET /export/...`: what officials take to meetings — the issue ledger (台账) and the 三长
roster (电子底册) as Excel or CSV, the map layers as GeoJSON or GeoPackage, and a community
report as PDF.

Every export holds what its viewer may see and no more: the reading is scoped in SQL
(``layers.exports``, ``layers.scope``) exactly as the pages are. A text cell that a
spreadsheet would run as a formula is neutralised with a leading ``'`` (CSV injection).
"""
import csv
import datetime as dt
import io
import json
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import quote

import matplotlib
import pyogrio
from flask import Blueprint, Response, abort
from flask_babel import get_locale
from flask_babel import gettext as _
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from werkzeug.exceptions import BadRequest

from geo.bbox import BBox
from layers import areas, compounds, db, exports, features, hierarchy, issues, venues
from layers.hierarchy import Area
from layers.issue_filter import IssueFilter
from webmap import api, extent, filters, modes, printmap, validate, viewer
from webmap.auth import ledger_view, roles_required

bp = Blueprint("exports", __name__, url_prefix="/export")

ROSTER_ROLES = ("grid_leader", "community_staff", "official", "admin")
LAYERS = ("communities", "grids", "compounds", "venues", "issues")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A cell starting with one of these is a formula (or starts one) in Excel, WPS and LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.app_context_processor
def export_links():
    """Whether the signed-in user may export the roster (the pages show the link then)."""
    return {"may_export_roster": viewer.current().role in ROSTER_ROLES}


def _english():
    return str(get_locale()) == "en"


def neutralise(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _width(value):
    """Display width in Latin characters: Chinese and other wide characters count two."""
    if value is None:
        return 0
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _xlsx(title, header, rows):
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [_width(h) for h in header]
    for row in rows:
        sheet.append([neutralise(v) for v in row])
        widths = [max(w, _width(v)) for w, v in zip(widths, row)]
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(header, rows):
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else neutralise(v)
                         for v in row])
    return out.getvalue().encode("utf-8-sig")


def _attachment(body, mimetype, ascii_name, name):
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def _table(fmt, stem, ascii_stem, header, rows):
    """The table as an .xlsx or .csv download named ``stem_YYYY-MM-DD``."""
    day = issues.today().isoformat()
    body, mimetype = (_xlsx(stem, header, rows), XLSX) if fmt == "xlsx" else \
        (_csv(header, rows), "text/csv; charset=utf-8")
    return _attachment(body, mimetype, f"{ascii_stem}-{day}.{fmt}", f"{stem}_{day}.{fmt}")


def _ledger_rows(found, reporters):
    withheld = "「" + _("尚未确定议题") + "」"
    satisfaction = {"satisfied": _("满意"), "mostly_satisfied": _("基本满意"), "unsatisfied": _("不满意")}
    for r in found:
        row = [r["id"], r["title"] or withheld, r["category_name"], r["channel_name"], r["stage_name"],
               r["community"], r["grid"], r["compound"], r["reported_on"], r["stage_changed_on"],
               _("是") if r["overdue"] else _("否"), r["result"], satisfaction.get(r["satisfaction"])]
        yield row + [r["reporter_name"], r["reporter_phone"]] if reporters else row


@bp.get("/issues.<any(xlsx, csv):fmt>")
@ledger_view
@validate.query(validate.IssueFilter)
def issue_ledger(fmt):
    """The issues the list at /issues shows for the same query string (and so the same
    extent, by default the viewer's area), all of them."""
    f, who = filters.issue_filter(area=extent.current().area), viewer.current()
    reporters = who.has_area  # the public (and a user with no area) gets no reporter columns
    try:
        found = exports.ledger(f, who.scope_params(), reporters=reporters, en=_english())
    except db.TooManyRows:
        raise BadRequest(_("导出的诉求超过 %(n)s 件：请缩小区域（area）或筛选条件", n=exports.LEDGER_MAX)) from None
    header = [_("编号"), _("标题"), _("类别"), _("渠道"), _("阶段"), _("社区"), _("网格"), _("楼院"),
              _("收集日期"), _("阶段变更日期"), _("是否超期"), _("办理结果"), _("群众评价")]
    if reporters:
        header += [_("反映人"), _("电话")]
    return _table(fmt, _("诉求台账"), "issues", header, _ledger_rows(found, reporters))


@bp.get("/roster.<any(xlsx, csv):fmt>")
@roles_required(*ROSTER_ROLES)
def roster(fmt):
    found = exports.roster(viewer.current().scope_params(), en=_english())
    header = [_("社区"), _("网格"), _("楼院"), _("楼栋"), _("单元"), _("职务"), _("姓名"), _("电话"),
              _("任职日期"), _("聘书编号")]
    keys = ("community", "grid", "compound", "building", "unit", "role_name", "name", "phone",
            "appointed_on", "certificate_no")
    return _table(fmt, _("电子底册"), "roster", header, ([r[k] for k in keys] for r in found))


def _layer_query(layer, who, area):
    """The map's own query for ``layer`` (SQL, parameters), scoped to ``who`` as the map is,
    kept to ``area`` (its bounds for the index, then its outline)."""
    scope = who.scope_params()
    box = None if area.level == "city" else BBox(*hierarchy.bounds(area))
    if layer == "communities":
        sql, params = areas.communities(box)
    elif layer == "grids":
        sql, params = areas.grids(box, scope=scope)
    elif layer == "compounds":
        mode, as_of = api.mode_param(), api.as_of_param()
        style, _legend = modes.style(mode, as_of)
        sql, params = compounds.query(mode, style, box, scope=scope, as_of=as_of)
    elif layer == "issues":
        sql, params = issues.query(box, as_of=api.as_of_param(), scope=scope)
    else:
        sql, params = venues.venues(box)
    return hierarchy.within(sql, area), {**params, **area.params}


def _geopackage(frame, layer):
    """``frame`` as GeoPackage bytes; lists (a venue's platforms) become JSON text."""
    for column in frame.columns.drop(frame.geometry.name):
        if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
            frame[column] = frame[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
    geometry_type = "Point" if layer in ("venues", "issues") else "MultiPolygon"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", geometry_type=geometry_type)
        return path.read_bytes()


@bp.get("/layers/<layer>.<any(geojson, gpkg):fmt>")
@validate.query(validate.LayerExport)
def layer(layer, fmt):
    """A map layer of the extent (by default the viewer's area) as the viewer's map shows it:
    no phones, names masked outside the viewer's area."""
    if layer not in LAYERS:
        abort(404, description=_("未知图层：%(value)s", value=layer))
    sql, params = _layer_query(layer, viewer.current(), extent.current().area)
    day = issues.today().isoformat()
    if fmt == "geojson":
        body, mimetype = features.feature_collection(sql, params), "application/geo+json"
    else:
        body, mimetype = _geopackage(features.read(sql, params), layer), "application/geopackage+sqlite3"
    return _attachment(body, mimetype, f"{layer}-{day}.{fmt}", f"{layer}_{day}.{fmt}")


# The PDF report: A4 portrait pages of figures and the issue table, the map in landscape.
A4_PORTRAIT = (8.27, 11.69)
ISSUES_PER_PAGE = 32
TITLE_CHARS = 26


def _page(pages, heading, sample, size=A4_PORTRAIT):
    """A new page with its heading, added to ``pages``; returns the figure to draw on."""
    fig = Figure(figsize=size)
    fig.text(0.07, 0.95, heading, fontsize=17, weight="bold", va="center")
    if sample:
        fig.text(0.93, 0.95, _("示例数据"), fontsize=14, weight="bold", color=printmap.STAMP,
                 ha="right", va="center",
                 bbox={"boxstyle": "round,pad=0.3", "facecolor": "none", "edgecolor": printmap.STAMP})
    pages.append(fig)
    return fig


def _figures_page(fig, figures, day):
    fig.text(0.07, 0.91, _("数据日期：%(day)s", day=day), fontsize=10, color=printmap.MUTED)
    lines = [(_("楼院"), figures["compounds"], False), (_("未办结诉求"), figures["open"], False),
             (_("已超期"), figures["overdue"], figures["overdue"] > 0),
             (_("近 12 个月办结诉求"), figures["resolved_12m"], False),
             (_("近 12 个月协商活动"), figures["meetings_12m"], False)]
    y = 0.85
    for label, value, alert in lines:
        fig.text(0.09, y, label, fontsize=13, va="center")
        fig.text(0.55, y, str(value), fontsize=15, weight="bold", va="center", ha="right",
                 color=printmap.STAMP if alert else "black")
        y -= 0.045
    y -= 0.02
    fig.text(0.07, y, _("未办结诉求（按阶段）"), fontsize=13, weight="bold", va="center")
    for stage in figures["open_by_stage"]:
        y -= 0.04
        fig.text(0.09, y, stage["name"], fontsize=12, va="center")
        fig.text(0.55, y, str(stage["count"]), fontsize=12, va="center", ha="right")


def _map_page(pages, png):
    """The printed 彩色图, embedded as drawn (no resampling)."""
    fig = Figure(figsize=printmap.A4_LANDSCAPE)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(imread(io.BytesIO(png)), interpolation="none")
    ax.set_axis_off()
    pages.append(fig)


def _short(text, limit=TITLE_CHARS):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _issue_pages(pages, heading, sample, rows):
    header = (_("编号"), _("议题"), _("阶段"), _("类别"), _("楼院"), _("收集日期"), _("超期"))
    xs = (0.06, 0.12, 0.50, 0.61, 0.72, 0.84, 0.95)
    withheld = "「" + _("尚未确定议题") + "」"
    chunks = [rows[i:i + ISSUES_PER_PAGE] for i in range(0, len(rows), ISSUES_PER_PAGE)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        fig = _page(pages, heading, sample)
        fig.text(0.07, 0.91, _("未办结诉求 %(n)s 件（第 %(page)s / %(pages)s 页）",
                               n=len(rows), page=n, pages=len(chunks)), fontsize=10, color=printmap.MUTED)
        for x, label in zip(xs, header):
            fig.text(x, 0.87, label, fontsize=9, weight="bold", ha="right" if x == xs[-1] else "left")
        fig.add_artist(Line2D([xs[0], xs[-1]], [0.86, 0.86], color=printmap.MUTED, linewidth=0.6))
        for i, r in enumerate(chunk):
            y = 0.84 - i * 0.025
            cells = (str(r["id"]), _short(r["title"] or withheld), r["stage_name"], r["category_name"],
                     _short(r["compound"] or "", 7), r["reported_on"].isoformat(), _("是") if r["overdue"] else "")
            for x, text in zip(xs, cells):
                fig.text(x, y, text, fontsize=8.5, ha="right" if x == xs[-1] else "left",
                         color=printmap.STAMP if r["overdue"] and x == xs[-1] else "black")
        if not rows:
            fig.text(0.07, 0.84, _("无未办结诉求"), fontsize=11)


@bp.get("/community/<int:community_id>.pdf")
@ledger_view
@validate.query(validate.Print)
def community_report(community_id):
    """A community's figures, its 彩色图 and its open issues; never a reporter."""
    en, who = _english(), viewer.current()
    figures = exports.community_figures(community_id, en=en)
    if figures is None:
        abort(404, description=_("没有这个社区：%(id)s", id=community_id))
    open_issues = exports.ledger(IssueFilter(area=Area("community", community_id), stage="open"), who.scope_params(),
                                 reporters=False, en=en)
    # The print's own sheet and drawing (it takes the render lock itself, so before ours).
    sheet = printmap.sheet(api.mode_param(), None, areas.read(areas.communities()), figures["name"])
    map_png = printmap.draw(sheet, "png")
    day = issues.today().isoformat()
    heading = _("%(community)s 社区报告", community=figures["name"])
    out = io.BytesIO()
    with printmap.RENDER_LOCK, matplotlib.rc_context(printmap.cjk_font_rc()):
        pages = []
        _figures_page(_page(pages, heading, figures["sample"]), figures, day)
        _map_page(pages, map_png)
        _issue_pages(pages, heading, figures["sample"], open_issues)
        with PdfPages(out, metadata={"Title": heading}) as pdf:
            for fig in pages:
                pdf.savefig(fig)
    return _attachment(out.getvalue(), "application/pdf", f"community-{community_id}-{day}.pdf",
                       f"{heading.replace(' ', '_')}_{day}.pdf")
