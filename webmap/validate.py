"""Validation at the edge: each route declares the query parameters and the JSON body it
takes as a pydantic model. A bad, missing or (in a query string) unknown value is a 400 that
names the field, in the user's language; the view receives typed values.

Rules that depend on data (a category code, a venue's platforms) stay with the data; what a
schema can say (a number, a real date, a list, a length) is said here, once.
"""
import datetime as dt
import functools
from typing import Annotated, Literal

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from werkzeug.exceptions import BadRequest


class Invalid(BadRequest):
    """A 400 whose message names the first bad field; ``errors`` lists every bad field."""

    def __init__(self, errors):
        super().__init__(errors[0]["message"])
        self.errors = errors


def _blank_is_none(value):
    """An empty form or query field is an absent one."""
    return None if value == "" else value


def optional(kind):
    return Annotated[kind | None, BeforeValidator(_blank_is_none)]


Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Crs = Literal["gcj02", "wgs84"]
Flag = Literal["0", "1"]


def Text(max_length):
    return Annotated[str, Field(max_length=max_length)]


class Body(BaseModel):
    """A JSON (or form) body: fields it does not know are ignored (a form carries its token)."""
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Query(BaseModel):
    """A query string: a parameter the route does not know is refused, not silently ignored."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    lang: optional(Text(10)) = None
    wall: optional(Literal["0", "1"]) = None    # wall mode on any page (static/nav.js)


def _value(value):
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _message(error):
    """One pydantic error in the user's words."""
    name = ".".join(str(part) for part in error["loc"]) or "body"
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return _("缺少参数 %(name)s", name=name)
    if kind == "extra_forbidden":
        return _("未知参数：%(name)s", name=name)
    if kind.startswith("int_"):
        return _("参数 %(name)s 应为整数：%(value)s", name=name, value=_value(value))
    if kind.startswith("float_") or kind == "finite_number":
        return _("参数 %(name)s 不是数字：%(value)s", name=name, value=_value(value))
    if kind.startswith("date"):
        return _("参数 %(name)s 不是有效日期（YYYY-MM-DD）：%(value)s", name=name, value=_value(value))
    if kind == "list_type":
        return _("参数 %(name)s 应为列表：%(value)s", name=name, value=_value(value))
    if kind in ("string_type", "string_unicode"):
        return _("参数 %(name)s 应为文字：%(value)s", name=name, value=_value(value))
    if kind in ("string_too_long", "too_long"):
        return _("参数 %(name)s 太长（不超过 %(n)s）", name=name, n=error["ctx"]["max_length"])
    if kind in ("string_too_short", "too_short"):
        return _("参数 %(name)s 不能为空", name=name)
    if kind == "string_pattern_mismatch":
        return _("参数 %(name)s 格式不对：%(value)s", name=name, value=_value(value))
    if kind == "literal_error":
        return _("参数 %(name)s 应为 %(choices)s 之一：%(value)s", name=name,
                 choices=error["ctx"]["expected"], value=_value(value))
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _("参数 %(name)s 超出范围：%(value)s", name=name, value=_value(value))
    if kind in ("model_type", "dict_type"):
        return _("请求内容应为 JSON 对象")
    return _("参数 %(name)s 的值不对：%(value)s", name=name, value=_value(value))


def check(model, values):
    """``values`` as ``model``; Invalid (a 400) names every bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Invalid([{"field": ".".join(str(p) for p in e["loc"]), "message": _message(e)}
                       for e in exc.errors()]) from None


def body(model):
    """The request's JSON object (or form fields) as ``model``."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return check(model, request.form.to_dict())
    values = request.get_json(silent=True)
    if not isinstance(values, dict):
        raise BadRequest(_("请求内容应为 JSON 对象"))
    return check(model, values)


def query(model):
    """Check the query string against ``model`` before the view runs."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            check(model, request.args.to_dict())
            return view(*args, **kwargs)
        return wrapper
    return decorate


# The query parameters routes share.

class Map(Query):
    as_of: optional(dt.date) = None
    crs: optional(Crs) = None


class Layer(Map):
    bbox: optional(Text(200)) = None
    mode: optional(Text(20)) = None


class Tile(Layer):
    v: optional(Annotated[int, Field(ge=0)]) = None   # the page's refresh count: a new URL, a fresh tile


class Lookup(Map):
    lon: Lon
    lat: Lat


class Heat(Layer):
    zoom: optional(Annotated[int, Field(ge=0, le=22)]) = None


class AreaOnly(Query):
    area: optional(Text(40)) = None


class Print(Query):
    mode: optional(Text(20)) = None
    as_of: optional(dt.date) = None


class MapPage(AreaOnly, Print):
    panel: optional(Literal["myarea"]) = None   # the installed app's start URL opens 我的范围
    issue: optional(Annotated[int, Field(ge=1, le=2_147_483_647)]) = None   # open at this issue (the issue list's link)
    rotate: optional(Annotated[int, Field(ge=0, le=86_400)]) = None   # seconds a color mode stays on a wall


class Search(Query):
    q: optional(Text(100)) = None


class AccessLog(Query):
    user: optional(Text(100)) = None
    kind: optional(Literal["head", "grid_leader", "reporter", "roster_export", "ledger_export"]) = None
    subject: optional(Id) = None
    since: optional(dt.date) = None
    limit: optional(Annotated[int, Field(ge=1, le=1_000_000)]) = None   # more than 1,000 is capped


class Roster(Query):
    compound: optional(Id) = None


class IssueFilter(AreaOnly):
    """``webmap.filters.issue_filter``'s parameters (codes are checked against the data there,
    a month and a compound with the words of their own messages)."""
    since: optional(dt.date) = Field(None, alias="from")
    until: optional(dt.date) = Field(None, alias="to")
    month: optional(Text(7)) = None
    category: optional(Text(40)) = None
    channel: optional(Text(40)) = None
    stage: optional(Text(40)) = None
    platform: optional(Text(40)) = None
    compound: optional(Text(10)) = None
    overdue: optional(Flag) = None
    livelihood: optional(Flag) = None
    on_time: optional(Flag) = None


class Hotspots(IssueFilter):
    cell: optional(Text(10)) = None  # one of geo.hotspot.SIZES, checked with its own message
    crs: optional(Crs) = None


class IssueList(IssueFilter):
    page: optional(Text(10)) = None  # 1 … issuelist.MAX_PAGE, checked with its own message


class LayerExport(AreaOnly):
    as_of: optional(dt.date) = None
    mode: optional(Text(20)) = None


# The JSON bodies.

class NewIssue(Body):
    title: Text(100) = ""
    description: Text(2000) = ""
    category: optional(Text(40)) = None
    channel: optional(Text(40)) = None
    compound_id: optional(Id) = None
    lon: optional(Lon) = None
    lat: optional(Lat) = None
    crs: optional(Crs) = None
    reporter_name: optional(Text(100)) = None
    reporter_phone: optional(Text(40)) = None


class Advance(Body):
    to: Text(20)
    version: int
    note: optional(Text(2000)) = None
    meeting_id: optional(Id) = None
    result: optional(Text(2000)) = None
    satisfaction: optional(Text(20)) = None
    reason: optional(Text(2000)) = None
    merged_into: optional(Id) = None


class Note(Body):
    note: optional(Text(2000)) = None


class NewMeeting(Body):
    venue_id: Id
    platform: Text(40)
    held_on: dt.date
    title: Annotated[str, Field(min_length=1, max_length=200)]
    attendee_count: Annotated[int, Field(ge=0, le=100_000)]
    attendee_kinds: list[Text(40)] = []
    minutes: Text(20_000) = ""
    issue_ids: list[Id] = []


class ContactChange(Body):
    name: optional(Text(30)) = None
    phone: optional(Text(40)) = None
    appointed_on: optional(dt.date) = None
    certificate_no: optional(Text(60)) = None


class Versioned(Body):
    version: int


class EditContact(ContactChange, Versioned):
    pass


class NewContact(ContactChange):
    role: Text(40)
    compound_id: Id
    building_id: optional(Id) = None
    unit_id: optional(Id) = None


def _refuse_unnamed_fields():
    """A multipart part whose name the parser could not read is a form key of None, which
    Flask-WTF's CSRF check trips over (a 500): refuse such a body first."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded"):
        if any(not isinstance(key, str) for key in request.form.keys()):
            raise BadRequest(_("表单中有无法识别名称的字段"))


def init_app(app):
    """Runs before the CSRF check (register it before webmap.auth)."""
    app.before_request(_refuse_unnamed_fields)
