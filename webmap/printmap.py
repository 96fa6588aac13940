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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from shapely import affinity, box
from shapely.ops import polylabel

from layers import areas, compounds, features, issues
from webmap import api, modes, validate

bp = Blueprint("printmap", __name__, url_prefix="/print")

METRIC_CRS = "EPSG:4547"  # CGCS2000 Gauss-Kruger CM 114E: metres, so shapes are not squashed
A4_LANDSCAPE = (11.69, 8.27)  # inches
PNG_DPI = 200
MAP_BOX = (0.03, 0.05, 0.64, 0.83)  # left, bottom, width, height as fractions of the sheet
CJK_FAMILY = "Noto Sans CJK SC"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
EDGE, CONTEXT, BOUNDARY, GRID_LINE, MUTED = "#4b5563", "#e5e7eb", "#7c2d12", "#2563eb", "#6b7280"
STAMP = "#dc2626"  # the 示例数据 stamp
NUDGES = (0, 7, -7, 14, -14, 21, -21)  # points a label may move to clear one drawn before it

# rcParams are process-wide and matplotlib is not thread-safe; gunicorn serves with threads.
RENDER_LOCK = threading.Lock()


class FontMissing(RuntimeError):
    """No CJK font: the print would show boxes instead of Chinese."""


@dataclass
class Sheet:
    """Everything one print shows, already read; geometries in EPSG:4326."""
    place: str                     # 中心路街道, or 中心路街道 汇丰社区
    mode_name: str
    day: dt.date
    sample: bool
    outline: gpd.GeoDataFrame      # the subdistrict
    communities: gpd.GeoDataFrame  # name, geom
    grids: gpd.GeoDataFrame        # community, geom
    compounds: gpd.GeoDataFrame    # name, community, grid, fill, open_issues, geom
    legend: list                   # [{color, label}] from webmap.modes
    focus: str | None = None       # the community's name on a community print

    @property
    def title(self):
        return _("%(place)s 彩色动态图 · %(mode)s", place=self.place, mode=self.mode_name)


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
                              f"(expected in {NOTO_DIR})") from None
    return {"font.family": [CJK_FAMILY], "pdf.fonttype": 42, "axes.unicode_minus": False}


def draw(sheet, fmt):
    """The print of ``sheet`` as PNG or PDF bytes: A4 landscape, 200 dpi for the PNG."""
    with RENDER_LOCK, matplotlib.rc_context(cjk_font_rc()):
        fig = Figure(figsize=A4_LANDSCAPE)
        FigureCanvasAgg(fig)  # a renderer to measure labels with
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
    view = _fit(ax, (communities[communities["name"] == focus] if focus else outline).total_bounds,
                box_aspect)
    if not mine.all():
        compounds_[~mine].plot(ax=ax, color=CONTEXT, edgecolor="#d1d5db", linewidth=0.5)
    compounds_[mine].plot(ax=ax, color=compounds_.loc[mine, "fill"], edgecolor=EDGE, linewidth=0.6)
    # Shared edges drawn once, so two neighbours' dashes do not overlap into a solid line.
    gpd.GeoSeries([communities.boundary.union_all()]).plot(
        ax=ax, color="#9ca3af" if focus else BOUNDARY, linewidth=0.8 if focus else 1.1, linestyle="--")
    if focus:
        gpd.GeoSeries([grids[grids["community"] == focus].boundary.union_all()]).plot(
            ax=ax, color=GRID_LINE, linewidth=1.2, linestyle=(0, (4, 3)))
        communities[communities["name"] == focus].boundary.plot(ax=ax, color=BOUNDARY, linewidth=3)
    outline.boundary.plot(ax=ax, color=BOUNDARY, linewidth=1.5 if focus else 2.5)
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
    ax.spines[:].set_color("#9ca3af")

    def label(text, point, dy=0, **style):
        return ax.annotate(text, (point.x, point.y), xytext=(0, dy), textcoords="offset points",
                           ha="center", va="center", path_effects=HALO, zorder=5, **style)

    labels = []
    for row in compounds_[mine].itertuples():
        point = row.geom.representative_point()
        labels.append(label(row.name, point, fontsize=12 if focus else 7, color="#111827"))
        if focus and row.grid:
            labels.append(label(row.grid, point, -14, fontsize=8.5, color=GRID_LINE))
    # Community names go where there is room: off the compounds, the scale bar and the arrow.
    minx, miny, maxx, maxy = view.bounds
    w, h = maxx - minx, maxy - miny
    room = (view.buffer(-0.05 * w).difference(compounds_.union_all().buffer(25))
            .difference(box(minx, miny, minx + 0.35 * w, miny + 0.1 * h))
            .difference(box(maxx - 0.1 * w, maxy - 0.18 * h, maxx, maxy)))
    for row in communities[communities["name"] != focus].itertuples():
        point = _open_spot(row.geom.intersection(room))
        if point is not None:
            labels.append(label(row.name, point, fontsize=12 if focus else 10, weight="bold",
                                alpha=0.65, color=MUTED if focus else BOUNDARY))
    _declutter(labels, ax.figure.canvas.get_renderer())
    _scale_bar(ax)
    ax.annotate(_("北"), xy=(0.95, 0.96), xytext=(0.95, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, weight="bold",
                arrowprops={"facecolor": "black", "width": 4, "headwidth": 12, "headlength": 12})


def _fit(ax, bounds, box_aspect, pad=0.06):
    """Set limits around ``bounds`` in the map box's shape; returns the view as a polygon."""
    minx, miny, maxx, maxy = bounds
    width, height = (maxx - minx) * (1 + 2 * pad), (maxy - miny) * (1 + 2 * pad)
    width, height = max(width, height * box_aspect), max(height, width / box_aspect)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - width / 2, cx + width / 2)
    ax.set_ylim(cy - height / 2, cy + height / 2)
    ax.set_aspect("equal")
    return box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _open_spot(free, stretch=3):
    """Where a wide label fits best in ``free``: its pole of inaccessibility, found with the
    shape squeezed horizontally so the spot favours room sideways. None if ``free`` is empty."""
    parts = [p for p in getattr(free, "geoms", [free]) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    tall = affinity.scale(max(parts, key=lambda p: p.area), yfact=stretch, origin=(0, 0))
    return affinity.scale(polylabel(tall, tolerance=5), yfact=1 / stretch, origin=(0, 0))


def _declutter(labels, renderer):
    """Move each label up or down a little if it would cover a label placed before it."""
    placed = []
    for label in labels:
        x, y = label.xyann
        for dy in NUDGES:
            label.xyann = (x, y + dy)
            extent = label.get_window_extent(renderer).expanded(1.04, 1.08)
            if not any(extent.overlaps(other) for other in placed):
                break
        placed.append(extent)


def _scale_bar(ax):
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    length = max(n for n in (50, 100, 200, 250, 500, 1000, 2000) if n <= (x1 - x0) / 4)
    x, y, h = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.03, (y1 - y0) * 0.008
    for i, color in enumerate(("black", "white")):
        ax.add_patch(Rectangle((x + i * length / 2, y), length / 2, h, facecolor=color,
                               edgecolor="black", linewidth=0.8, zorder=6))
    for dx, text in ((0, "0"), (length / 2, f"{length / 2:g}"), (length, _("%(n)s 米", n=length))):
        ax.text(x + dx, y + 2 * h, text, ha="center", va="bottom", fontsize=7, path_effects=HALO, zorder=6)


def _margins(fig, sheet):
    mine = sheet.compounds[sheet.compounds["community"] == sheet.focus] if sheet.focus else sheet.compounds
    fig.text(0.03, 0.95, sheet.title, fontsize=20, weight="bold", va="center")
    fig.text(0.03, 0.905, _("数据日期：%(day)s　·　楼院 %(n)s 个　·　楼院内未办结诉求 %(issues)s 件",
                            day=sheet.day.isoformat(), n=len(mine), issues=int(mine["open_issues"].sum())),
             fontsize=11, color="#374151", va="center")
    handles, labels = [], []
    for entry in sheet.legend:  # an entry without a label continues the one before it
        if entry["label"] or not handles:
            handles.append([])
            labels.append(entry["label"])
        handles[-1].append(Patch(facecolor=entry["color"], edgecolor=EDGE, linewidth=0.6))
    handles = [tuple(h) if len(h) > 1 else h[0] for h in handles]
    lines = [(Line2D([], [], color=BOUNDARY, linewidth=2.5), _("街道边界")),
             (Line2D([], [], color="#9ca3af" if sheet.focus else BOUNDARY, linestyle="--"), _("社区边界"))]
    if sheet.focus:
        lines += [(Line2D([], [], color=BOUNDARY, linewidth=3), sheet.focus),
                  (Line2D([], [], color=GRID_LINE, linestyle=(0, (4, 3))), _("网格边界")),
                  (Patch(facecolor=CONTEXT, edgecolor="#d1d5db"), _("其他社区的楼院"))]
    fig.legend(handles + [h for h, _t in lines], labels + [t for _h, t in lines],
               loc="upper left", bbox_to_anchor=(0.70, 0.86), frameon=False, fontsize=11,
               title=_("图例：%(mode)s", mode=sheet.mode_name), alignment="left",
               title_fontproperties={"size": 13, "weight": "bold"}, handlelength=2.2,
               handleheight=1.2, labelspacing=0.7, handler_map={tuple: HandlerTuple(ndivide=None, pad=0)})
    fig.text(0.70, 0.05, _("%(name)s · 一证一图一册一会 · 生成于 %(day)s", name=sheet.outline["name"].iloc[0],
                           day=issues.today().isoformat()), fontsize=8, color=MUTED, wrap=True)
    if sheet.sample:
        fig.text(0.835, 0.93, _("示例数据"), fontsize=26, weight="bold", color=STAMP, rotation=8,
                 ha="center", va="center",
                 bbox={"boxstyle": "round,pad=0.35", "facecolor": "none", "edgecolor": STAMP,
                       "linewidth": 3})
        fig.text(0.70, 0.075, _("示例数据：边界与楼院位置为虚构，仅供演示"), fontsize=8, color=STAMP, wrap=True)


def sheet(mode, as_of, communities, focus=None):
    """Everything one print needs, read through the layers: the whole subdistrict, or the
    community ``focus`` (a row of ``communities``) with its neighbours for context."""
    style, legend = modes.style(mode, as_of)
    outline = areas.read(areas.subdistrict())
    name = outline["name"].iloc[0]
    return Sheet(place=f"{name} {focus}" if focus else name, mode_name=modes.mode_names()[mode],
                 day=as_of or issues.today(), sample=bool(outline["is_sample"].any()),
                 outline=outline, communities=communities, grids=areas.read(areas.grids()),
                 compounds=features.read(*compounds.query(mode, style, as_of=as_of)), legend=legend, focus=focus)


def _respond(sheet, fmt, ascii_stem):
    day = sheet.day.isoformat()
    name = f"{sheet.place}_彩色动态图_{sheet.mode_name}_{day}.{fmt}".replace(" ", "_")
    disposition = f"inline; filename=\"{ascii_stem}-{day}.{fmt}\"; filename*=UTF-8''{quote(name)}"
    return Response(draw(sheet, fmt), mimetype="image/png" if fmt == "png" else "application/pdf",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-cache"})


@bp.get("/subdistrict.<any(png, pdf):fmt>")
@validate.query(validate.Print)
def subdistrict(fmt):
    mode, as_of = api.mode_param(), api.as_of_param()
    return _respond(sheet(mode, as_of, areas.read(areas.communities())), fmt, f"subdistrict-{mode}")


@bp.get("/community/<int:community_id>.<any(png, pdf):fmt>")
@validate.query(validate.Print)
def community(community_id, fmt):
    mode, as_of = api.mode_param(), api.as_of_param()
    communities = areas.read(areas.communities())
    found = communities.loc[communities["id"] == community_id, "name"]
    if found.empty:
        abort(404, description=_("没有这个社区：%(id)s", id=community_id))
    return _respond(sheet(mode, as_of, communities, found.iloc[0]), fmt, f"community-{community_id}-{mode}")
