"""Open311 GeoReport v2 at ``/open311/v2/``: categories as services, issues as requests.

Reads are public and show only what the public may see (layers/open311.py). Creating a
request needs an API key (``flask apikeys add``) and no cookie, so it is exempt from CSRF.
Only JSON is served. Errors are the spec's list, ``[{"code": 400, "description": "…"}]``
(webmap/errors.py). Extensions the spec allows: ``page``/``page_size`` on requests.json
(``X-Total-Count`` and a ``Link: rel="next"`` header), ``channel`` and ``lang=en``.

A new request needs lat/long (nothing can be geocoded offline). ``email``, ``device_id`` and
``account_id`` are not stored (PIPL: collect the least); a ``media_url`` is refused rather
than silently dropped, since the app cannot fetch it. A client that may resend a request sends
an ``Idempotency-Key`` header (or ``idempotency_key`` field): the request is stored once, and
the resend answers 200 with the same service_request_id.
"""
import datetime as dt
import math
import re

from flask import Blueprint, Response, abort, json, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, Forbidden, NotFound

from layers import open311, scope, users, workflow
from webmap import i18n, issues
from webmap.auth import csrf

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

BEIJING = dt.timezone(dt.timedelta(hours=8))
WINDOW = dt.timedelta(days=90)  # the spec's default window and the longest one allowed
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
DEFAULT_CHANNEL = "e_wangtong"  # 中中e网通, the subdistrict's mini program
STATUSES = {"open": True, "closed": False}
OFFSET = re.compile(r" (\d{2}:?\d{2})$")  # a '+' of "+08:00" that arrived unencoded as a space
COUNTRY_CODE = re.compile(r"^\+?86[\s-]*(?=1\d{10}$)")
NUMBER = re.compile(r"[0-9]{1,9}")  # fits an int: no issue id or page is longer


def _en():
    return str(get_locale()) == "en"


def _json(text, status=200, headers=None):
    return Response(text, status=status, mimetype="application/json", headers=headers)


def _only_json(fmt):
    if fmt != "json":
        raise BadRequest(_("只支持 JSON 格式（请求 .json）：%(value)s", value=fmt))


def _list(name):
    text = request.args.get(name, "").strip()
    return [part.strip() for part in text.split(",") if part.strip()] or None


def _datetime(name, end=False):
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(OFFSET.sub(r"+\1", text))
    except ValueError:
        raise BadRequest(_("参数 %(name)s 应为 ISO 8601 日期时间（如 2024-05-01T08:00:00+08:00）：%(value)s",
                           name=name, value=text)) from None
    if end and len(text) == 10:  # a bare date ends at the end of that day
        value += dt.timedelta(days=1, microseconds=-1)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _window():
    """The requested_datetime window: the last 90 days unless dates say otherwise; no wider."""
    since, until = _datetime("start_date"), _datetime("end_date", end=True)
    if since is None and until is None:
        until = dt.datetime.now(BEIJING)
    if since is None:
        since = until - WINDOW
    if until is None:
        until = since + WINDOW
    if since > until:
        raise BadRequest(_("start_date 晚于 end_date"))
    if until - since > WINDOW:
        raise BadRequest(_("start_date 与 end_date 相隔不能超过 90 天"))
    return since, until


def _positive(name, default, highest=None):
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not NUMBER.fullmatch(text) or int(text) < 1 or (highest and int(text) > highest):
        raise BadRequest(_("参数 %(name)s 应为 1 到 %(high)s 的整数：%(value)s", name=name,
                           high=highest or "∞", value=text))
    return int(text)


def _codes(codes):
    unknown = sorted(set(codes) - open311.service_codes())
    if unknown:
        raise NotFound(_("没有这个服务类别（service_code）：%(value)s", value=", ".join(unknown)))
    return codes


@bp.get("/services.<fmt>")
def services(fmt):
    _only_json(fmt)
    return _json(open311.services(_en()))


@bp.get("/requests.<fmt>")
def list_requests(fmt):
    _only_json(fmt)
    ids = _list("service_request_id")
    if ids is not None:
        if not all(NUMBER.fullmatch(i) for i in ids) or len(ids) > MAX_PAGE_SIZE:
            raise BadRequest(_("service_request_id 应为以逗号分隔的数字，最多 %(high)s 个：%(value)s",
                               high=MAX_PAGE_SIZE, value=request.args["service_request_id"]))
        body, total = open311.requests(ids=[int(i) for i in ids], limit=MAX_PAGE_SIZE, en=_en())
        return _json(body, headers={"X-Total-Count": str(total)})
    codes = _list("service_code")
    statuses = _list("status")
    if statuses and set(statuses) - set(STATUSES):
        raise BadRequest(_("status 应为 open 或 closed：%(value)s", value=request.args["status"]))
    since, until = _window()
    page, size = _positive("page", 1), _positive("page_size", PAGE_SIZE, MAX_PAGE_SIZE)
    body, total = open311.requests(
        codes=_codes(codes) if codes else None, since=since, until=until,
        open_states={STATUSES[s] for s in statuses} if statuses else None,
        limit=size, offset=(page - 1) * size, en=_en())
    headers = {"X-Total-Count": str(total)}
    if page * size < total:
        following = url_for(".list_requests", fmt=fmt, **{**request.args.to_dict(), "page": page + 1})
        headers["Link"] = f'<{following}>; rel="next"'
    return _json(body, headers=headers)


@bp.get("/requests/<int(max=2147483647):service_request_id>.<fmt>")
def one_request(service_request_id, fmt):
    _only_json(fmt)
    body, total = open311.requests(ids=[service_request_id], limit=1, en=_en())
    if not total:
        raise NotFound(_("没有这件诉求：%(value)s", value=service_request_id))
    return _json(body)


def _coordinate(form, name, low, high):
    try:
        value = float(form[name])
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise BadRequest(_("参数 %(name)s 不是有效的 WGS84 坐标：%(value)s", name=name, value=form[name]))
    return value


def _reporter_name(form):
    first, last = (form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()
    if re.search(r"[\u4e00-\u9fff]", first + last):
        return last + first  # 姓 then 名
    return f"{first} {last}".strip()


@csrf.exempt
@bp.post("/requests.<fmt>")
def create_request(fmt):
    _only_json(fmt)
    form = request.form
    key_name = users.api_key_name(form.get("api_key") or "")
    if key_name is None:
        raise Forbidden(_("api_key 无效或缺失"))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise BadRequest(_("缺少参数 service_code"))
    _codes([code])
    if form.get("media_url"):
        raise BadRequest(_("不支持 media_url：请不带图片链接提交"))
    if not (form.get("lat") and form.get("long")):
        raise BadRequest(_("需要 lat 和 long：无法离线解析 address_string 或 address_id"))
    lat, lon = _coordinate(form, "lat", -90, 90), _coordinate(form, "long", -180, 180)
    description = (form.get("description") or "").strip()
    name = open311.service_name_zh(code)
    title = open311.redact(f"{name}：{description[:20]}" if description else name)
    fields = issues.issue_fields({
        "title": title, "description": description, "category": code,
        "channel": form.get("channel") or DEFAULT_CHANNEL, "lon": lon, "lat": lat,
        "reporter_name": _reporter_name(form),
        "reporter_phone": COUNTRY_CODE.sub("", (form.get("phone") or "").strip())})
    try:
        issue_id, created = workflow.create(fields, f"open311:{key_name}", scope.EVERYWHERE,
                                            issues.idempotency_key(form))
    except workflow.KeyReused:
        abort(422, description=issues.key_reused())
    except workflow.WorkflowError as exc:
        abort(exc.status, description=i18n.refusal(exc))
    notice = _("已收到，社区将在 %(days)s 天内决定是否立为议题", days=open311.reply_days())
    return _json(json.dumps([{"service_request_id": str(issue_id), "service_notice": notice,
                              "account_id": None}], ensure_ascii=False), status=201 if created else 200)
