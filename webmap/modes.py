"""The color modes of the 彩色动态图: how each compound is colored, and the legend.

A mode turns the per-compound state (``layers.compounds``) into a class, a fill color and a
legend: the colors and class breaks are parameters, the classing itself runs in PostGIS.
"""
import functools
import warnings

import mapclassify
import numpy as np
from flask_babel import get_locale
from flask_babel import gettext as _

from layers import compounds, db, version

MODES = ("open", "sla", "grid", "governance", "patrol")

CALM = "#d9ede0"          # no open issues: calm, not alarming
OPEN_COLORS = ["#fed976", "#fd8d3c", "#e31a1c", "#800026"]
SLA_COLORS = {0: "#bdbdbd", 1: "#31a354", 2: "#f59e0b", 3: "#dc2626"}
GRID_COLORS = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#ccebc5"]
GOVERNANCE = {  # (all 三长 posts filled, self-governance org present) → color
    (True, True): "#1a9850", (True, False): "#a6d96a",
    (False, True): "#fdae61", (False, False): "#d73027",
}
# Days since the last patrol, by class (layers.compounds.PATROL_CLASSES): week, month, longer, never.
PATROL_COLORS = ["#1a9850", "#a6d96a", "#fdae61", "#d73027"]


def mode_names():
    return {"open": _("未办结诉求"), "sla": _("办理时限"), "grid": _("网格划分"), "governance": _("三长与自治组织"),
            "patrol": _("巡查")}


def style(mode, as_of=None, bbox=None):
    """(style, legend) of ``mode``: ``style`` holds the SQL parameters of
    ``layers.compounds.query`` (the colors by class, and the open mode's class breaks).

    The open mode's breaks depend on every compound's count: now they are read once per data
    version (one small query) and shared by every viewer and bbox, so panning keeps colors
    stable; a replayed date classes the compounds of its bbox.
    """
    if mode == "open":
        counts = (compounds.open_counts(as_of, bbox) if as_of
                  else _open_counts_now(str(db.engine().url), version.current()))
        bins, legend = _open(tuple(counts), str(get_locale()))
        return {"colors": [CALM] + OPEN_COLORS[:len(bins)], "breaks": bins}, legend
    if mode == "sla":
        labels = {0: _("无未办结诉求"), 1: _("按时办理"), 2: _("即将到期"), 3: _("已超期")}
        legend = [{"color": SLA_COLORS[k], "label": labels[k]} for k in (3, 2, 1, 0)]
        return {"colors": [SLA_COLORS[k] for k in range(4)]}, legend
    if mode == "grid":
        colors = GRID_COLORS[:min(len(GRID_COLORS), compounds.grid_color_count())]
        # The colors only tell neighbouring grids apart: each swatch names its group.
        legend = [{"color": c, "label": _("网格组 %(n)s", n=i + 1)} for i, c in enumerate(colors)]
        return {"colors": colors}, legend
    if mode == "governance":
        labels = {(True, True): _("三长齐全，有自治组织"), (True, False): _("三长齐全，无自治组织"),
                  (False, True): _("三长缺员，有自治组织"), (False, False): _("三长缺员，无自治组织")}
        legend = [{"color": GOVERNANCE[k], "label": labels[k]} for k in GOVERNANCE]
        return {"colors": list(GOVERNANCE.values())}, legend
    if mode == "patrol":
        labels = [_("7 天内巡查过"), _("30 天内巡查过"), _("超过 30 天未巡查"), _("从未巡查")]
        legend = [{"color": c, "label": label} for c, label in zip(PATROL_COLORS, labels)]
        return {"colors": PATROL_COLORS}, legend
    raise ValueError(mode)


@functools.lru_cache(maxsize=8)
def _open_counts_now(_database, _version):
    return tuple(compounds.open_counts())


@functools.lru_cache(maxsize=64)
def _open(counts, _locale):
    """Class breaks for the distinct non-zero open counts (Fisher-Jenks; zero is its own calm
    class), and the legend; once per set of counts and language (Fisher-Jenks is a few ms).

    Computed on the distinct counts: exact and repeatable (natural breaks samples at random),
    and fast however many compounds there are.
    """
    distinct = np.asarray(counts, dtype=int)
    legend = [{"color": CALM, "label": _("0（平稳）")}]
    if distinct.size == 0:
        return [], legend
    k = min(len(OPEN_COLORS), distinct.size)
    with warnings.catch_warnings():
        # a few dozen distinct values: mapclassify's hint that Numba would be faster is noise
        warnings.filterwarnings("ignore", message="Numba not installed")
        bins = mapclassify.FisherJenks(distinct, k=k).bins if k > 1 else distinct[-1:]
    bins = [int(b) for b in np.unique(bins.astype(int))]
    lower = 1
    for i, upper in enumerate(bins):
        label = f"{lower}" if lower == upper else f"{lower}–{upper}"
        legend.append({"color": OPEN_COLORS[i], "label": label})
        lower = upper + 1
    return bins, legend
