"""`GET /issues`: the issues behind a dashboard figure, filtered by the query string, within
an extent (``?area=``, by default the viewer's area), a page at a time.

Never a reporter; a title stays withheld until the issue is taken up as a topic (outside the
viewer's area). The filters are ``webmap.filters``'; the total is the figure linked from,
counted from the maintained state where the filter allows (``layers.issue_filter.count``).
"""
from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import BadRequest

from layers import hierarchy, issue_filter
from webmap import extent, filters, validate, viewer
from webmap.auth import ledger_view

bp = Blueprint("issuelist", __name__)

PAGE_SIZE = 100
# The first 10,000 issues of any list: deeper, a narrower filter is the way on (an offset
# costs what it skips).
MAX_PAGE = 10_000 // PAGE_SIZE
# Filters the form shows; any other given (from a dashboard link) is kept as it is.
FORM_FIELDS = ("stage", "category", "platform", "month", "overdue")


def _page():
    text = request.args.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(_("页码应为 1 到 %(high)s 的整数：%(value)s", high=MAX_PAGE, value=text))
    return int(text)


def _described(args, known):
    """The active filters as (label, value) in words, for the heading."""
    names = {field: dict((str(code), name) for code, name in known[field])
             for field in ("stage", "category", "channel", "platform")}
    names["stage"]["open"] = _("未办结")
    labels = {"stage": _("阶段"), "category": _("类别"), "channel": _("渠道"), "platform": _("协商平台"),
              "compound": _("楼院"), "month": _("月份"), "from": _("开始日期"), "to": _("结束日期")}
    flags = {"overdue": (_("已超期"), _("未超期")), "livelihood": (_("民生类"), _("非民生类")),
             "on_time": (_("按时办理"), _("未按时办理"))}
    described = []
    for key, value in args.items():
        if key in flags and value in ("0", "1"):
            described.append((flags[key][value == "0"], None))
        elif key in labels and value:
            described.append((labels[key], names.get(key, {}).get(value, value)))
    return described


@bp.get("/issues")
@ledger_view
@validate.query(validate.IssueList)
def index():
    where = extent.current()
    f = filters.issue_filter(area=where.area)
    page = _page()
    en = str(get_locale()) == "en"
    total, exact, rows = issue_filter.issues(f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                             scope=viewer.current().scope_params(), en=en)
    known = issue_filter.choices(en=en)
    args = {k: v for k, v in request.args.items() if k not in ("page", "lang", "area")}
    pages = max(1, min(-(-total // PAGE_SIZE), MAX_PAGE))

    def link(**changes):
        return url_for("issuelist.index", **{**args, **where.query, **changes})

    trail = [(name, link(area=level if id is None else f"{level}:{id}"))
             for level, id, name in where.trail if level != hierarchy.MINE]
    drill = ([] if where.level == "community" else
             [(c["name"], link(area=f"{c['level']}:{c['id']}")) for c in hierarchy.children(where.area)])
    return render_template(
        "issues.html", rows=rows, total=total, exact=exact, page=page, pages=pages, choices=known,
        args=args, query={**args, **where.query}, area=where, trail=trail, drill=drill,
        described=_described(args, known), form_fields=FORM_FIELDS, page_url=lambda n: link(page=n),
        days_overdue=lambda n: ngettext("超期 %(n)s 天", "超期 %(n)s 天", n, n=n))
