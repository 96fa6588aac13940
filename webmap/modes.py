"""The color modes of the 彩色动态图: how each compound is colored, and the legend.

A mode turns the per-compound figures from ``layers.compounds.stats`` into a fill color and
a class for each compound, plus the legend entries for the page.
"""
import warnings

import mapclassify
import numpy as np
from flask_babel import gettext as _

MODES = ("open", "sla", "grid", "governance")

CALM = "#d9ede0"          # no open issues: calm, not alarming
OPEN_COLORS = ["#fed976", "#fd8d3c", "#e31a1c", "#800026"]
SLA_COLORS = {0: "#bdbdbd", 1: "#31a354", 2: "#f59e0b", 3: "#dc2626"}
GRID_COLORS = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#ccebc5"]
GOVERNANCE = {  # (all 三长 posts filled, self-governance org present) → color
    (True, True): "#1a9850", (True, False): "#a6d96a",
    (False, True): "#fdae61", (False, False): "#d73027",
}


def mode_names():
    return {"open": _("未办结诉求"), "sla": _("办理时限"), "grid": _("网格划分"), "governance": _("三长与自治组织")}


def styles(mode, stats, grid_colors=None):
    """(styles, legend) for ``mode``: styles is a list of {id, fill, cls, open_issues}."""
    if mode == "open":
        fills, classes, legend = _open(stats["open_issues"].to_numpy())
    elif mode == "sla":
        fills = [SLA_COLORS[s] for s in stats["sla"]]
        classes = [str(s) for s in stats["sla"]]
        labels = {0: _("无未办结诉求"), 1: _("按时办理"), 2: _("即将到期"), 3: _("已超期")}
        legend = [{"color": SLA_COLORS[k], "label": labels[k]} for k in (3, 2, 1, 0)]
    elif mode == "grid":
        fills = [grid_colors.get(g, "#cccccc") for g in stats["grid_id"]]
        classes = [str(g) for g in stats["grid_id"]]
        legend = [{"color": c, "label": _("网格（相邻网格颜色不同）") if i == 0 else ""}
                  for i, c in enumerate(sorted(set(grid_colors.values())))]
    elif mode == "governance":
        keys = list(zip(stats["missing_heads"] == 0, stats["has_org"]))
        fills = [GOVERNANCE[k] for k in keys]
        classes = [f"{'complete' if a else 'gaps'}-{'org' if b else 'no-org'}" for a, b in keys]
        labels = {(True, True): _("三长齐全，有自治组织"), (True, False): _("三长齐全，无自治组织"),
                  (False, True): _("三长缺员，有自治组织"), (False, False): _("三长缺员，无自治组织")}
        legend = [{"color": GOVERNANCE[k], "label": labels[k]} for k in GOVERNANCE]
    else:
        raise ValueError(mode)
    result = [{"id": int(i), "fill": f, "cls": c, "open_issues": int(n)}
              for i, f, c, n in zip(stats["id"], fills, classes, stats["open_issues"])]
    return result, legend


def _open(counts):
    """Open issues per compound, classed with Fisher-Jenks breaks; zero is its own calm class.

    The breaks are computed on the distinct counts: exact and repeatable (natural breaks
    samples at random), and fast however many compounds there are.
    """
    distinct = np.unique(counts[counts > 0])
    legend = [{"color": CALM, "label": _("0（平稳）")}]
    if distinct.size == 0:
        return [CALM] * len(counts), ["0"] * len(counts), legend
    k = min(len(OPEN_COLORS), distinct.size)
    with warnings.catch_warnings():
        # a few dozen distinct values: mapclassify's hint that Numba would be faster is noise
        warnings.filterwarnings("ignore", message="Numba not installed")
        bins = mapclassify.FisherJenks(distinct, k=k).bins if k > 1 else distinct[-1:]
    bins = np.unique(bins.astype(int))
    lower = 1
    for i, upper in enumerate(bins):
        label = f"{lower}" if lower == upper else f"{lower}–{upper}"
        legend.append({"color": OPEN_COLORS[i], "label": label})
        lower = upper + 1
    index = np.searchsorted(bins, counts, side="left")
    fills = [CALM if n == 0 else OPEN_COLORS[min(i, len(bins) - 1)] for n, i in zip(counts, index)]
    classes = ["0" if n == 0 else str(int(i) + 1) for n, i in zip(counts, index)]
    return fills, classes, legend


def grid_colors(grids):
    """A color per grid id such that touching grids differ (greedy graph coloring)."""
    if grids.empty:
        return {}
    projected = grids.to_crs(4547)  # metres, so the touching test works at street scale
    index = mapclassify.greedy(projected, strategy="balanced", min_distance=1)
    return {int(g): GRID_COLORS[int(c) % len(GRID_COLORS)] for g, c in zip(grids["id"], index)}
