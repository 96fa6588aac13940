"""Issue filters read from the query string and checked; a bad value is a 400 that says,
in the visitor's language, which parameter is wrong and why."""
import datetime as dt
import re

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from layers.hierarchy import CITY
from layers.issue_filter import IssueFilter, choices
from layers.issues import today

MONTH = re.compile(r"\d{4}-\d{2}")


def _date(name):
    text = request.args.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(_("日期格式应为 YYYY-MM-DD：%(value)s", value=text)) from None


def _month(text):
    """The first and last day of a YYYY-MM month."""
    try:
        first = dt.date.fromisoformat(f"{text}-01") if MONTH.fullmatch(text) else None
    except ValueError:
        first = None
    if first is None:
        raise BadRequest(_("月份格式应为 YYYY-MM：%(value)s", value=text))
    following = (first + dt.timedelta(days=31)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _flag(name):
    text = request.args.get(name, "")
    if text == "":
        return None
    if text not in ("0", "1"):
        raise BadRequest(_("参数 %(name)s 应为 0 或 1：%(value)s", name=name, value=text))
    return text == "1"


def _compound():
    text = request.args.get("compound", "")
    if text == "":
        return None
    if not text.isdigit() or len(text) > 9:
        raise BadRequest(_("没有这个%(what)s：%(value)s", what=_("楼院"), value=text))
    return int(text)


def _code(name, allowed, label):
    text = request.args.get(name, "")
    if text == "":
        return None
    if text not in allowed:
        raise BadRequest(_("未知的%(what)s：%(value)s（可选 %(codes)s）", what=label, value=text,
                           codes=", ".join(allowed)))
    return text


def issue_filter(default_days=None, area=CITY):
    """The IssueFilter of the request's ``from``, ``to``, ``month``, ``category``, ``channel``,
    ``stage`` (``open`` or a stage code), ``compound``, ``platform``, ``overdue``,
    ``livelihood`` and ``on_time`` (0 or 1), within ``area`` (the extent, ``webmap.extent``).

    With ``default_days`` and no dates given, the window is the last ``default_days`` days.
    """
    known = choices()
    codes = {field: [c for c, _name in known[field]] for field in ("stage", "category", "channel", "platform")}
    since, until = _date("from"), _date("to")
    if request.args.get("month"):
        since, until = _month(request.args["month"])
    elif default_days is not None:
        until = until or today()
        since = since or until - dt.timedelta(days=default_days - 1)
    if since and until and since > until:
        raise BadRequest(_("开始日期晚于结束日期：%(since)s > %(until)s", since=since, until=until))
    return IssueFilter(
        area=area, since=since, until=until,
        category=_code("category", codes["category"], _("类别")),
        channel=_code("channel", codes["channel"], _("渠道")),
        stage=_code("stage", ["open"] + codes["stage"], _("阶段")),
        compound=_compound(),
        platform=_code("platform", codes["platform"], _("协商平台")),
        overdue=_flag("overdue"), livelihood=_flag("livelihood"), on_time=_flag("on_time"))
