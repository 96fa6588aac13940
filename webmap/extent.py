"""The extent a page shows: ``?area=city``, ``district:ID``, ``subdistrict:ID`` or
``community:ID``; without it, the viewer's own area, else the whole installation.

Figures are public (as the pages always were), so any viewer may widen to any place; what
stays within the viewer's area is the personal data, masked row by row in SQL
(``layers.scope``), whatever the extent.
"""
import re
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from data.sample_names import CITY
from layers import hierarchy
from layers.hierarchy import Area
from webmap import viewer

AREA = re.compile(r"(district|subdistrict|community):([0-9]{1,9})")


@dataclass(frozen=True)
class Extent:
    """An area with its name and its breadcrumb, [(level, id, name)] from the city down."""
    area: Area
    name: str
    trail: tuple

    @property
    def query(self):
        """The query-string arguments that name this extent (none for the viewer's own)."""
        return {"area": self.area.key} if self.area.key else {}

    @property
    def level(self):
        return self.area.level


def city_name():
    return current_app.config.get("CITY_NAME", CITY)


def _parse(text):
    if text == "city":
        return hierarchy.CITY
    match = AREA.fullmatch(text)
    if not match:
        raise BadRequest(_("参数 area 应为 city、district:编号、subdistrict:编号 或 community:编号：%(value)s",
                           value=text))
    return Area(match.group(1), int(match.group(2)))


def own_area(who):
    """The viewer's own area, or None when they have none (the public, a city official)."""
    if not (who.district_ids or who.subdistrict_ids or who.community_ids or who.grid_ids):
        return None
    return hierarchy.viewer_area(districts=who.district_ids, subdistricts=who.subdistrict_ids,
                                 communities=who.community_ids, grids=who.grid_ids)


def _default():
    """The viewer's area, else the installation; a city or district of one child opens on it."""
    area = own_area(viewer.current()) or hierarchy.CITY
    while (child := hierarchy.only_child(area)) is not None:
        area = child
    return area


def current():
    """The request's extent (``?area=``, else the default); a bad or unknown area is a 400."""
    text = request.args.get("area", "")
    area = _parse(text) if text else _default()
    trail = hierarchy.trail(area)
    if trail is None:
        raise BadRequest(_("没有这个区域：%(value)s", value=text))
    trail = [("city", None, city_name())] + trail
    if area.level == hierarchy.MINE:
        trail.append((hierarchy.MINE, None, _("我的范围")))
    return Extent(area, trail[-1][2], tuple(trail))
