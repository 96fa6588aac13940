"""Parsing and checking a ``bbox=minx,miny,maxx,maxy`` request parameter (WGS84 degrees)."""
from dataclasses import dataclass

# A request may cover at most this many degrees each way: several subdistricts, not a country.
MAX_SPAN_DEG = 0.5


class BBoxError(ValueError):
    """The bbox is malformed, inverted, out of range or too large; the message says which."""


@dataclass(frozen=True)
class BBox:
    minx: float
    miny: float
    maxx: float
    maxy: float

    def params(self):
        return {"minx": self.minx, "miny": self.miny, "maxx": self.maxx, "maxy": self.maxy}


def parse_bbox(text, max_span=MAX_SPAN_DEG):
    """Parse ``minx,miny,maxx,maxy``; ``None`` or empty text means no bbox.

    Raises
    ------
    BBoxError
        With a message (zh-CN) naming what is wrong.
    """
    if text is None or text.strip() == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise BBoxError("bbox 需要 4 个数：minx,miny,maxx,maxy (bbox needs 4 numbers)")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise BBoxError(f"bbox 含有非数字：{text} (bbox has a value that is not a number)") from None
    if not all(map(lambda v: v == v and abs(v) != float("inf"), (minx, miny, maxx, maxy))):
        raise BBoxError("bbox 含有无效数值 (bbox has NaN or infinity)")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BBoxError("bbox 超出经纬度范围 (bbox is outside longitude/latitude range)")
    if minx >= maxx or miny >= maxy:
        raise BBoxError("bbox 的最小值必须小于最大值 (bbox is inverted: min must be below max)")
    if maxx - minx > max_span or maxy - miny > max_span:
        raise BBoxError(f"bbox 范围过大，每边不能超过 {max_span} 度 "
                        f"(bbox too large: at most {max_span} degrees each way)")
    return BBox(minx, miny, maxx, maxy)
