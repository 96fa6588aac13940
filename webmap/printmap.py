"""`GET /print/...`: the 彩色动态图 printed for the wall (一图), as a PNG or an A4 PDF.

The views read the layers through ``layers`` and color the compounds with the web map's own
modes; ``draw`` gets GeoDataFrames and knows nothing of Flask or SQL.
"""
import datetime as dt
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import matplotlib
from flask import Blueprint, Response, abort
from flask_babel import gettext as _
from matplotlib import font_manager, patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.lines import Line2D
from shapely import box
from shapely.ops import polylabel

from layers import areas, compounds, features
from webmap import api, modes

bp = Blueprint("printmap", __name__, url_prefix="/print")

METRIC_CRS = "EPSG:4547"  # CGCS2000 Gauss-Kruger CM 114E: metres, shapes not squashed
A4_LANDSCAPE = (11.69, 8.27)  # inches
PNG_DPI = 200
MAP_BOX = (0.03, 0.05, 0.64, 0.83)  # left, bottom, width, height in figure fractions
CJK_FAMILY = "Noto Sans CJK SC"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
MIMETYPES = {"png": "image/png", "pdf": "application/pdf"}
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
EDGE, CONTEXT, BOUNDARY, GRID_LINE = "#4b5563", "#e5e7eb", "#7c2d12", "#2563eb"

# rcParams are process-wide and matplotlib is not thread-safe; gunicorn serves with threads.
_render_lock = threading.Lock()


class FontMissing(RuntimeError):
    """No CJK font: the print would show boxes instead of Chinese."""


@dataclass
class Sheet:
    """Everything one print shows, already read; geometries in EPSG:4326."""
    title: str
    day: dt.date
    sample: bool
    outline: gpd.GeoDataFrame      # the subdistrict
    communities: gpd.GeoDataFrame  # id, name, geom
    grids: gpd.GeoDataFrame        # name, community, geom
    compounds: gpd.GeoDataFrame    # name, community, grid, fill, geom
    legend: list                   # [{color, label}] from webmap.modes
    focus: str | None = None       # the community's name on a community print


def cjk_font_rc():
    """rcParams that make matplotlib write Chinese with Noto Sans CJK SC, embedded in PDFs."""
    props = font_manager.FontProperties(family=CJK_FAMILY)
    try:
        font_manager.findfont(props, fallback_to_default=False)
    except ValueError:  # installed after matplotlib built its font cache
        for path in NOTO_DIR.glob("NotoSansCJK-*.ttc"):
            font_manager.fontManager.addfont(path)
        try:
            font_manager.findfont(props, fallback_to_default=False)
        except ValueError:
            raise FontMissing(f"{CJK_FAMILY} not found: install Debian's fonts-noto-cjk "
                              f"({NOTO_DIR})") from None
    return {"font.family": [CJK_FAMILY], "pdf.fonttype": 42, "axes.unicode_minus": False}


def draw(sheet, fmt):
    """The print of ``sheet`` as PNG or PDF bytes: A4 landscape, 200 dpi for the PNG."""
    with _render_lock, matplotlib.rc_context(cjk_font_rc()):
        fig = Figure(figsize=A4_LANDSCAPE)
        ax = fig.add_axes(MAP_BOX)
        _map(ax, sheet, MAP_BOX[2] * A4_LANDSCAPE[0] / (MAP_BOX[3] * A4_LANDSCAPE[1]))
        _margins(fig, sheet)
        out = io.BytesIO()
        fig.savefig(out, format=fmt, dpi=PNG_DPI, metadata={"Title": sheet.title})
        return out.getvalue()


def _map(ax, sheet, box_aspect):
    outline, communities, grids, compounds_ = (
        g.to_crs(METRIC_CRS) for g in (sheet.outline, sheet.communities, sheet.grids, sheet.compounds))
    focus = sheet.focus
    mine = compounds_["community"] == focus if focus else compounds_["community"].notna()
    ax.set_xticks([]), ax.set_yticks([])
    ax.spines[:].set_color("#9ca3af")
    ax.set_aspect("equal")
    view = _fit(ax, (communities[communities["name"] == focus] if focus else outline).total_bounds,
                box_aspect)
    if not mine.all():
        compounds_[~mine].plot(ax=ax, color=CONTEXT, edgecolor="#d1d5db", linewidth=0.5)
    compounds_[mine].plot(ax=ax, color=compounds_.loc[mine, "fill"], edgecolor=EDGE, linewidth=0.6)
    # Shared edges drawn once, so the dashes of two neighbours do not overlap into a solid line.
    gpd.GeoSeries([communities.boundary.union_all()]).plot(
        ax=ax, color="#9ca3af" if focus else BOUNDARY, linewidth=0.8 if focus else 1.1, linestyle="--")
    if focus:
        gpd.GeoSeries([grids[grids["community"] == focus].boundary.union_all()]).plot(
            ax=ax, color=GRID_LINE, linewidth=1.2, linestyle=(0, (4, 3)))
        communities[communities["name"] == focus].boundary.plot(ax=ax, color=BOUNDARY, linewidth=3)
    outline.boundary.plot(ax=ax, color=BOUNDARY, linewidth=1.5 if focus else 2.5)
    built = compounds_.union_all().buffer(25)
    for row in communities[communities["name"] != focus].itertuples():
        point = _open_spot(row.geom.intersection(view).difference(built))
        if point is not None:
            ax.annotate(row.name, (point.x, point.y), ha="center", va="center", fontsize=12 if focus else 10,
                        weight="bold", alpha=0.6, color="#6b7280" if focus else BOUNDARY,
                        path_effects=HALO, zorder=4)
    for row in compounds_[mine].itertuples():
        point = row.geom.representative_point()
        ax.annotate(row.name, (point.x, point.y), ha="center", va="center", zorder=5,
                    fontsize=12 if focus else 7, color="#111827", path_effects=HALO)
        if focus and row.grid:
            ax.annotate(row.grid, (point.x, point.y), xytext=(0, -14), textcoords="offset points",
                        ha="center", va="center", fontsize=8.5, color=GRID_LINE, path_effects=HALO,
                        zorder=5)
    _scale_bar(ax)
    ax.annotate(_("北"), xy=(0.95, 0.96), xytext=(0.95, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, weight="bold",
                arrowprops={"facecolor": "black", "width": 4, "headwidth": 12, "headlength": 12})


def _open_spot(free):
    """The point of ``free`` farthest from its edges (for a label), or None if it is empty."""
    if free.is_empty:
        return None
    largest = max(getattr(free, "geoms", [free]), key=lambda part: part.area)
    return polylabel(largest, tolerance=5) if largest.geom_type == "Polygon" else None


def _fit(ax, bounds, box_aspect, pad=0.06):
    """Limits around ``bounds`` with the map box's shape, so the drawing fills the box."""
    minx, miny, maxx, maxy = bounds
    width, height = (maxx - minx) * (1 + 2 * pad), (maxy - miny) * (1 + 2 * pad)
    width, height = max(width, height * box_aspect), max(height, width / box_aspect)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - width / 2, cx + width / 2)
    ax.set_ylim(cy - height / 2, cy + height / 2)
    return box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _scale_bar(ax):
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    length = max(n for n in (50, 100, 200, 250, 500, 1000, 2000) if n <= (x1 - x0) / 4)
    x, y, h = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.03, (y1 - y0) * 0.008
    for i in range(2):
        ax.add_patch(Rectangle((x + i * length / 2, y), length / 2, h, zorder=6,
                               facecolor="black" if i == 0 else "white", edgecolor="black", linewidth=0.8))
    for dx, text in ((0, "0"), (length / 2, f"{length // 2:g}"), (length, f"{length:g} 米")):
        ax.text(x + dx, y + 2 * h, text, ha="center", va="bottom", fontsize=7, path_effects=HALO, zorder=6)


def _margins(fig, sheet):
    fig.text(0.03, 0.95, sheet.title, fontsize=20, weight="bold", va="center")
    fig.text(0.03, 0.905, _("数据日期：%(day)s", day=sheet.day.isoformat()), fontsize=11,
             color="#374151", va="center")
    handles, labels = [], []
    for entry in sheet.legend:  # an entry without a label continues the one before it
        if entry["label"] or not handles:
            handles.append([]), labels.append(entry["label"])
        handles[-1].append(Patch(facecolor=entry["color"], edgecolor=EDGE, linewidth=0.6))
    handles = [tuple(h) if len(h) > 1 else h[0] for h in handles]
    lines = [(Line2D([], [], color=BOUNDARY, linewidth=2.5), _("街道边界")),
             (Line2D([], [], color=BOUNDARY if not sheet.focus else "#9ca3af", linestyle="--"), _("社区边界"))]
    if sheet.focus:
        lines += [(Line2D([], [], color=BOUNDARY, linewidth=3), sheet.focus),
                  (Line2D([], [], color=GRID_LINE, linestyle=(0, (4, 3))), _("网格边界")),
                  (Patch(facecolor=CONTEXT, edgecolor="#d1d5db"), _("其他社区楼院"))]
    legend = fig.legend(handles + [h for h, _l in lines], labels + [t for _h, t in lines],
                        loc="upper left", bbox_to_anchor=(0.70, 0.86), frameon=False, fontsize=11,
                        title=_("图例"), title_fontproperties={"size": 13, "weight": "bold"},
                        alignment="left", handlelength=2.2, handleheight=1.2, labelspacing=0.7,
                        handler_map={tuple: matplotlib.legend_handler.HandlerTuple(ndivide=None, pad=0)})
    legend.set_in_layout(False)
    fig.text(0.70, 0.05, _("中心路街道 · 一证一图一册一会 · 生成于 %(day)s", day=dt.date.today().isoformat()),
             fontsize=8, color="#6b7280")
    if sheet.sample:
        fig.text(0.835, 0.93, _("示例数据"), fontsize=26, weight="bold", color="#dc2626", rotation=8,
                 ha="center", va="center", alpha=0.9,
                 bbox={"boxstyle": "round,pad=0.35", "facecolor": "none", "edgecolor": "#dc2626",
                       "linewidth": 3})
        fig.text(0.70, 0.075, _("示例数据：边界与楼院位置为虚构，仅供演示"), fontsize=8, color="#dc2626")


def _sheet(mode, as_of, focus=None):
    styles, legend = api.compound_styles(mode, as_of)
    outline = areas.read(areas.subdistrict())
    place = f"{outline['name'].iloc[0]} {focus}" if focus else outline["name"].iloc[0]
    return Sheet(title=_("%(place)s 彩色动态图 · %(mode)s", place=place, mode=modes.mode_names()[mode]),
                 day=as_of or dt.date.today(), sample=bool(outline["is_sample"].any()),
                 outline=outline, communities=areas.read(areas.communities()),
                 grids=areas.read(areas.grids()), legend=legend, focus=focus,
                 compounds=features.read(*compounds.query(styles)))


def _respond(sheet, fmt, ascii_stem):
    name = f"{sheet.title.replace(' · ', '_').replace(' ', '_')}_{sheet.day.isoformat()}.{fmt}"
    disposition = (f'inline; filename="{ascii_stem}-{sheet.day.isoformat()}.{fmt}"; '
                   f"filename*=UTF-8''{quote(name)}")
    return Response(draw(sheet, fmt), mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-cache"})


@bp.get("/subdistrict.<any(png, pdf):fmt>")
def subdistrict(fmt):
    mode, as_of = api.mode_param(), api.as_of_param()
    return _respond(_sheet(mode, as_of), fmt, f"subdistrict-{mode}")


@bp.get("/community/<int:community_id>.<any(png, pdf):fmt>")
def community(community_id, fmt):
    mode, as_of = api.mode_param(), api.as_of_param()
    found = areas.read(areas.communities())
    found = found[found["id"] == community_id]
    if found.empty:
        abort(404, description=_("没有这个社区：%(id)s", id=community_id))
    return _respond(_sheet(mode, as_of, found["name"].iloc[0]), fmt, f"community-{community_id}-{mode}")
