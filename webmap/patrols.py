"""Patrols (巡查打卡) over HTTP: record a visit to a compound, list a compound's visits, and a
visit's photo. Requests are checked here (400 naming the field, in the user's language); the
area and the distance are checked in layers/patrols.py, in SQL."""
import datetime as dt
import json
import re

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import BadRequest, NotFound

from layers import patrols
from webmap import basemaps, i18n, viewer
from webmap.auth import roles_required
from webmap.issues import _body, clean_photo

bp = Blueprint("patrols", __name__, url_prefix="/api")

PATROLLERS = ("grid_leader", "community_staff", "admin")
READERS = PATROLLERS + ("official",)
DEFAULT_MAX_DISTANCE_M = 200
# A visit recorded offline is sent later with the time it was made: at most this old.
MAX_AGE = dt.timedelta(days=7)
KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces: a UUID fits


def _bool(body, name):
    value = body.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes", "0", "false", "off", "no", ""):
        return value.lower() in ("1", "true", "on", "yes")
    raise BadRequest(_("参数 %(name)s 应为 true 或 false：%(value)s", name=name, value=value))


def _float(body, name, low, high):
    value = body.get(name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(_("参数 %(name)s 不是数字：%(value)s", name=name, value=value)) from None
    if not low <= number <= high:
        raise BadRequest(_("参数 %(name)s 超出范围：%(value)s", name=name, value=value))
    return number


def _int(value, name):
    if isinstance(value, bool):
        raise BadRequest(_("%(name)s 应为整数", name=name))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(_("%(name)s 应为整数", name=name)) from None


def _issue_ids(body):
    value = body.get("issue_ids")
    if value in (None, ""):
        return []
    if isinstance(value, str):   # a form field: "12,15" or a JSON list
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    if not isinstance(value, list):
        raise BadRequest(_("%(name)s 应为整数", name="issue_ids"))
    return sorted({_int(v, "issue_ids") for v in value})


def _visited_at(body):
    text = body.get("visited_at")
    if text in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(_("参数 %(name)s 应为 ISO 8601 时间：%(value)s", name="visited_at", value=text)) from None
    if when.tzinfo is None:
        raise BadRequest(_("参数 %(name)s 应带时区：%(value)s", name="visited_at", value=text))
    now = dt.datetime.now(dt.timezone.utc)
    if not now - MAX_AGE <= when <= now + dt.timedelta(minutes=5):
        raise BadRequest(_("参数 %(name)s 应在过去 7 天之内：%(value)s", name="visited_at", value=text))
    return when


def patrol_fields(body, photo=None):
    """The fields of a new patrol, checked; BadRequest names what is wrong."""
    if body.get("compound_id") in (None, ""):
        raise BadRequest(_("缺少参数 %(name)s", name="compound_id"))
    placed_manually = _bool(body, "placed_manually")
    if body.get("lon") in (None, "") and body.get("lat") in (None, ""):
        if not placed_manually:
            raise BadRequest(_("缺少位置（lon、lat）：请允许定位，或在地图上手动选点"))
        lon = lat = None
    else:
        lon, lat = _float(body, "lon", -180, 180), _float(body, "lat", -90, 90)
        if body.get("crs") == "gcj02":
            lon, lat = (float(v) for v in basemaps.point_from_gcj02(lon, lat))
    note = str(body.get("note") or "").strip()
    if len(note) > 2000:
        raise BadRequest(_("参数 %(name)s 不超过 2000 个字", name="note"))
    nothing_found, issue_ids = _bool(body, "nothing_found"), _issue_ids(body)
    if nothing_found == bool(issue_ids):
        raise BadRequest(_("nothing_found 与 issue_ids 应二选一：未发现问题，或列出本次登记的诉求"))
    return {"compound_id": _int(body["compound_id"], "compound_id"), "lon": lon, "lat": lat,
            "placed_manually": placed_manually, "nothing_found": nothing_found, "note": note,
            "issue_ids": issue_ids, "visited_at": _visited_at(body), "photo": photo}


def max_distance_m():
    return float(current_app.config.get("PATROL_MAX_DISTANCE_M", DEFAULT_MAX_DISTANCE_M))


@bp.post("/patrols")
@roles_required(*PATROLLERS)
def create_patrol():
    photo = clean_photo(request.files["photo"]) if request.files.get("photo") else None
    body = _body()
    key = request.headers.get("Idempotency-Key") or body.get("idempotency_key") or None
    if key is not None and not KEY.fullmatch(str(key)):
        raise BadRequest(_("Idempotency-Key 格式不对：应为 1 到 200 个可见 ASCII 字符"))
    fields = patrol_fields(body, photo)
    who = viewer.current()
    try:
        patrol, created = patrols.create(fields, who.name, who.user_id, who.scope_params(),
                                         max_distance_m(), key)
    except patrols.PatrolError as exc:
        return jsonify(error=i18n.refusal(exc)), exc.status
    return jsonify(patrol), 201 if created else 200


@bp.get("/patrols")
@roles_required(*READERS)
def list_patrols():
    compound = request.args.get("compound")
    if compound in (None, ""):
        raise BadRequest(_("缺少参数 %(name)s", name="compound"))
    found = patrols.recent(_int(compound, "compound"), viewer.current().scope_params())
    if found is None:
        raise NotFound(_("没有这个楼院，或不在您的范围内"))
    return jsonify(patrols=found)


@bp.get("/patrols/<int:patrol_id>/photo")
@roles_required(*READERS)
def patrol_photo(patrol_id):
    found = patrols.photo(patrol_id, viewer.current().scope_params())
    if found is None:
        raise NotFound(_("没有照片"))
    return Response(found[1], mimetype=found[0])


def strings():
    """The patrol form's text (webmap/static/patrol.js), in the page's language."""
    return {
        "title": _("巡查打卡"), "locating": _("正在获取位置…"), "gpsAt": _("已定位（精度 %(n)s 米）", n="{n}"),
        "denied": _("无法获取位置（已拒绝或不可用）：请在地图上点选位置，将标记为手动定位"),
        "pickOnMap": _("在地图上点选位置"), "tapMap": _("请点击地图上您所在的位置"), "cancel": _("取消"),
        "manualAt": _("手动定位："), "note": _("备注"), "photo": _("照片（可选）"),
        "nothingFound": _("未发现问题"), "issues": _("本次登记的诉求："),
        "recordIssue": _("记录诉求（关联本次巡查）"), "submit": _("打卡"), "close": _("关闭"),
        "waitGps": _("正在获取位置，请稍候；或在地图上点选位置"), "queued": _("已保存，待联网后同步"),
        "recorded": _("已打卡"), "flagged": _("手动定位"), "error": _("提交失败，请重试"),
        "lastPatrol": _("上次巡查："), "never": _("从未巡查"),
        "daysAgoOne": ngettext("%(n)s 天前", "%(n)s 天前", 1, n="{n}"),
        "daysAgo": ngettext("%(n)s 天前", "%(n)s 天前", 2, n="{n}"),
    }
