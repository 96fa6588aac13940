"""The issue workflow over HTTP: record an issue, advance it, claim and comment; meetings.

The browser UI and API clients use these same routes. Requests are checked here (messages
in the user's language); the rules of the workflow live in layers/workflow.py.
"""
import io
import re

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.exceptions import BadRequest, NotFound

from layers import compounds, lookups, meetings, workflow
from layers.phones import normalise_phone
from webmap import basemaps, i18n, validate, viewer
from webmap.auth import roles_required

bp = Blueprint("issues", __name__, url_prefix="/api")

RECORDERS = ("grid_leader", "community_staff", "deputy", "admin")
ADVANCERS = ("grid_leader", "community_staff", "admin")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces: a UUID fits


def _body():
    """The raw body (for its idempotency key; the fields are checked by webmap/validate.py)."""
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_("请求内容应为 JSON 对象"))
    return body


def _number(body, name):
    try:
        return float(body[name])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(_("参数 %(name)s 不是数字：%(value)s", name=name, value=body.get(name))) from None


def clean_photo(upload):
    """(mime, bytes) of an uploaded JPEG/PNG re-encoded without its metadata (EXIF, GPS)."""
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise BadRequest(_("照片不能超过 5 MB"))
    try:
        image = Image.open(io.BytesIO(data))
        kind = image.format
        image.load()
    except (UnidentifiedImageError, OSError):
        raise BadRequest(_("照片应为 JPEG 或 PNG 图片")) from None
    if kind not in ("JPEG", "PNG"):
        raise BadRequest(_("照片应为 JPEG 或 PNG 图片"))
    image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant, drop the rest
    out = io.BytesIO()
    image.save(out, format=kind)
    return ("image/jpeg" if kind == "JPEG" else "image/png"), out.getvalue()


def issue_fields(body, photo=None):
    """The fields of a new issue, checked; BadRequest names what is wrong."""
    title = (body.get("title") or "").strip()
    if not title or len(title) > 100:
        raise BadRequest(_("标题不能为空，且不超过 100 个字"))
    description = (body.get("description") or "").strip()
    if len(description) > 2000:
        raise BadRequest(_("描述不超过 2000 个字"))
    if body.get("category") not in lookups.codes("category"):
        raise BadRequest(_("未知的诉求类别：%(value)s", value=body.get("category")))
    if body.get("channel") not in lookups.codes("channel"):
        raise BadRequest(_("未知的收集渠道：%(value)s", value=body.get("channel")))
    if body.get("compound_id") not in (None, ""):
        point = compounds.interior_point(int(body["compound_id"]))
        if point is None:
            raise BadRequest(_("没有这个楼院"))
        lon, lat = point
    else:
        lon, lat = _number(body, "lon"), _number(body, "lat")
        if body.get("crs") == "gcj02":
            lon, lat = basemaps.point_from_gcj02(lon, lat)
    phone = (body.get("reporter_phone") or "").strip()
    if phone and normalise_phone(phone) is None:
        raise BadRequest(_("电话格式不对（手机号 11 位，或座机如 0371-12345678）"))
    return {"title": title, "description": description, "category": body["category"],
            "channel": body["channel"], "lon": lon, "lat": lat,
            "reporter_name": (body.get("reporter_name") or "").strip()[:30] or None,
            "reporter_phone": normalise_phone(phone) if phone else None, "photo": photo}


def idempotency_key(body):
    """The client's idempotency key: the ``Idempotency-Key`` header, else the body's
    ``idempotency_key`` field; None when it sent neither."""
    key = request.headers.get("Idempotency-Key") or body.get("idempotency_key")
    if key in (None, ""):
        return None
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise BadRequest(_("Idempotency-Key 应为 1 到 200 个可见 ASCII 字符（如 UUID）"))
    return key


def key_reused():
    return _("这个 Idempotency-Key 已用于另一份不同的请求；新的请求请用新的 key")


def _refused(exc):
    return jsonify(error=i18n.refusal(exc)), exc.status


@bp.post("/issues")
@roles_required(*RECORDERS)
def create_issue():
    photo = clean_photo(request.files["photo"]) if request.files.get("photo") else None
    body = _body()
    key = idempotency_key(body)
    try:
        issue_id, created = workflow.create(issue_fields(validate.body(validate.NewIssue).model_dump(), photo),
                                            viewer.current().name, viewer.current().scope_params(), key)
    except workflow.KeyReused:
        return jsonify(error=key_reused()), 422
    except workflow.WorkflowError as exc:
        return _refused(exc)
    return jsonify(id=issue_id), 201 if created else 200


@bp.post("/issues/<int:issue_id>/advance")
@roles_required(*ADVANCERS)
def advance_issue(issue_id):
    step = validate.body(validate.Advance)
    who = viewer.current()
    try:
        version = workflow.advance(
            issue_id, step.to, step.version, who.name, who.scope_params(), note=step.note,
            meeting_id=step.meeting_id, result=step.result, satisfaction=step.satisfaction,
            reason=step.reason, merged_into=step.merged_into)
    except workflow.WorkflowError as exc:
        return _refused(exc)
    return jsonify(id=issue_id, stage=step.to, version=version)


def _note(issue_id, kind):
    text = validate.body(validate.Note).note or ""
    if kind == "comment" and not text:
        raise BadRequest(_("评论不能为空"))
    try:
        workflow.note(issue_id, kind, text or _("认领"), viewer.current().name,
                      viewer.current().scope_params())
    except workflow.WorkflowError as exc:
        return _refused(exc)
    return jsonify(id=issue_id, kind=kind), 201


@bp.post("/issues/<int:issue_id>/claim")
@roles_required("deputy")
def claim_issue(issue_id):
    return _note(issue_id, "claim")


@bp.post("/issues/<int:issue_id>/comment")
@roles_required(*ADVANCERS, "deputy")
def comment_issue(issue_id):
    return _note(issue_id, "comment")


@bp.get("/issues/<int:issue_id>/photo")
@roles_required(*RECORDERS, "official")
def issue_photo(issue_id):
    found = workflow.photo(issue_id, viewer.current().scope_params())
    if found is None:
        raise NotFound(_("没有照片"))
    return Response(found[1], mimetype=found[0])


@bp.get("/choices")
def choices():
    """The lists a form needs: categories, channels, stages, platforms, venues."""
    return jsonify(lookups.choices())


@bp.post("/meetings")
@roles_required("community_staff", "admin")
def create_meeting():
    fields = validate.body(validate.NewMeeting).model_dump()
    fields["held_on"] = fields["held_on"].isoformat()
    try:
        meeting_id = meetings.create(fields, viewer.current().scope_params())
    except meetings.MeetingError as exc:
        return _refused(exc)
    return jsonify(id=meeting_id), 201


@bp.get("/venues/<int:venue_id>/meetings")
def venue_meetings(venue_id):
    return jsonify(meetings.recent(venue_id))
