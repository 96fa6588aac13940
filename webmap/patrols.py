"""Patrols (巡查打卡) over HTTP: record a visit to a compound, list a compound's visits, and a
visit's photo. Requests are checked at the edge (webmap.validate: 400 naming the field, in the
user's language); the area and the distance are checked in layers/patrols.py, in SQL."""
import datetime as dt
import json

from typing import Annotated

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import BeforeValidator, Field
from werkzeug.exceptions import BadRequest, NotFound

from layers import patrols
from webmap import basemaps, i18n, validate, viewer
from webmap.auth import roles_required
from webmap.issues import KEY, clean_photo

bp = Blueprint("patrols", __name__, url_prefix="/api")

PATROLLERS = ("grid_leader", "community_staff", "admin")
READERS = PATROLLERS + ("official",)
DEFAULT_MAX_DISTANCE_M = 200
# A visit recorded offline is sent later with the time it was made: at most this old.
MAX_AGE = dt.timedelta(days=7)


def _ids(value):
    """issue_ids (or issue_keys) as a list: a JSON list, or a form field "12,15" (or a JSON list
    as text)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return [v.strip() for v in text.split(",") if v.strip()]
    return [] if value is None else value


class NewPatrol(validate.Body):
    compound_id: validate.Id
    lon: validate.optional(validate.Lon) = None
    lat: validate.optional(validate.Lat) = None
    crs: validate.optional(validate.Crs) = None
    placed_manually: validate.optional(bool) = None
    nothing_found: validate.optional(bool) = None
    issue_ids: Annotated[list[validate.Id], BeforeValidator(_ids), Field(max_length=100)] = []
    # Issues recorded offline during the visit, by the idempotency keys of their records: the
    # device knows no id yet. The outbox sends oldest first, so the issues arrive before this.
    issue_keys: Annotated[list[Annotated[str, Field(pattern=KEY.pattern)]], BeforeValidator(_ids),
                          Field(max_length=100)] = []
    note: validate.optional(validate.Text(2000)) = None
    visited_at: validate.optional(dt.datetime) = None
    idempotency_key: validate.optional(validate.Text(200)) = None


class Patrols(validate.Query):
    compound: validate.Id


def _visited_at(when):
    if when is None:
        return None
    if when.tzinfo is None:
        raise BadRequest(_("参数 %(name)s 应带时区：%(value)s", name="visited_at", value=when.isoformat()))
    now = dt.datetime.now(dt.timezone.utc)
    if not now - MAX_AGE <= when <= now + dt.timedelta(minutes=5):
        raise BadRequest(_("参数 %(name)s 应在过去 7 天之内：%(value)s", name="visited_at", value=when.isoformat()))
    return when


def patrol_fields(body, photo=None):
    """The fields of a new patrol (``body`` a NewPatrol), with the rules between fields
    checked; BadRequest names what is wrong."""
    placed_manually = bool(body.placed_manually)
    if (body.lon is None) != (body.lat is None):
        raise BadRequest(_("缺少参数 %(name)s", name="lat" if body.lat is None else "lon"))
    lon, lat = body.lon, body.lat
    if lon is None and not placed_manually:
        raise BadRequest(_("缺少位置（lon、lat）：请允许定位，或在地图上手动选点"))
    if lon is not None and body.crs == "gcj02":
        lon, lat = (float(v) for v in basemaps.point_from_gcj02(lon, lat))
    nothing_found, issue_ids = bool(body.nothing_found), sorted(set(body.issue_ids))
    issue_keys = sorted(set(body.issue_keys))
    if nothing_found == bool(issue_ids or issue_keys):
        raise BadRequest(_("nothing_found 与 issue_ids 应二选一：未发现问题，或列出本次登记的诉求"))
    return {"compound_id": body.compound_id, "lon": lon, "lat": lat, "placed_manually": placed_manually,
            "nothing_found": nothing_found, "note": body.note or "", "issue_ids": issue_ids,
            "issue_keys": issue_keys,
            "visited_at": _visited_at(body.visited_at), "photo": photo}


def max_distance_m():
    return float(current_app.config.get("PATROL_MAX_DISTANCE_M", DEFAULT_MAX_DISTANCE_M))


@bp.post("/patrols")
@roles_required(*PATROLLERS)
def create_patrol():
    photo = clean_photo(request.files["photo"]) if request.files.get("photo") else None
    body = validate.body(NewPatrol)
    key = request.headers.get("Idempotency-Key") or body.idempotency_key
    if key is not None and not KEY.fullmatch(key):
        raise BadRequest(_("Idempotency-Key 应为 1 到 200 个可见 ASCII 字符（如 UUID）"))
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
@validate.query(Patrols)
def list_patrols():
    found = patrols.recent(validate.check(Patrols, request.args.to_dict()).compound,
                           viewer.current().scope_params())
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
        "recordIssue": _("记录诉求（关联本次巡查）"), "issueQueued": _("诉求（待同步）"),
        "submit": _("打卡"), "close": _("关闭"),
        "waitGps": _("正在获取位置，请稍候；或在地图上点选位置"), "queued": _("已保存，待联网后同步"),
        "recorded": _("已打卡"), "flagged": _("手动定位"), "error": _("提交失败，请重试"),
        "lastPatrol": _("上次巡查："), "never": _("从未巡查"),
        "daysAgoOne": ngettext("%(n)s 天前", "%(n)s 天前", 1, n="{n}"),
        "daysAgo": ngettext("%(n)s 天前", "%(n)s 天前", 2, n="{n}"),
    }
