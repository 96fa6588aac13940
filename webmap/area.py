"""A signed-in user's own area ("my area"), contacts and issues by id, and the 电子底册 roster.

Reads are scoped in SQL (layers.scope); outside the area a contact or issue is a 404, so
nobody learns what exists elsewhere. Roster edits are for community staff and admins.
"""
import sqlalchemy as sa

from flask import Blueprint, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.exceptions import BadRequest, NotFound

from layers import myarea, roster
from layers.phones import normalise_phone
from webmap import validate, viewer
from webmap.auth import roles_required

bp = Blueprint("area", __name__)
EDITORS = ("community_staff", "admin")


@bp.get("/api/my-area")
@login_required
def my_area():
    return jsonify(myarea.my_area(viewer.current().scope_params()))


@bp.get("/api/issues/<int:issue_id>")
@login_required
def issue_detail(issue_id):
    found = myarea.issue(issue_id, viewer.current().scope_params())
    if found is None:
        raise NotFound(_("没有这件诉求，或不在您的范围内"))
    return jsonify(found)


# For every blueprint that edits the roster (here and webmap/roster.py).
@bp.app_errorhandler(roster.NotFound)
def contact_not_found(_exc):
    return jsonify(error=_("没有这个联系人，或不在您的范围内")), 404


@bp.app_errorhandler(roster.StaleEdit)
def stale_contact(_exc):
    return jsonify(error=_("该联系人已被他人修改，请刷新后再试")), 409


@bp.get("/api/contacts/<int:head_id>")
@login_required
def contact(head_id):
    return jsonify(roster.contact(head_id, viewer.current().scope_params()))


@bp.get("/api/contacts/<int:head_id>/history")
@login_required
def contact_history(head_id):
    return jsonify(roster.history(head_id, viewer.current().scope_params()))


def _fields(contact, required):
    """The contact fields given (all of them when ``required``), checked; BadRequest names
    what is wrong."""
    given = contact.model_fields_set
    fields = {}
    if "name" in given or required:
        if not contact.name:
            raise BadRequest(_("姓名不能为空，且不超过 30 个字"))
        fields["name"] = contact.name
    if "phone" in given or required:
        phone = normalise_phone(contact.phone or "")
        if phone is None:
            raise BadRequest(_("电话格式不对（手机号 11 位，或座机如 0371-12345678）"))
        fields["phone"] = phone
    if contact.appointed_on:
        fields["appointed_on"] = contact.appointed_on.isoformat()
    if "certificate_no" in given:
        fields["certificate_no"] = contact.certificate_no or None
    return fields


def _actor():
    return viewer.current().name


@bp.patch("/api/contacts/<int:head_id>")
@roles_required(*EDITORS)
def edit_contact(head_id):
    change = validate.body(validate.EditContact)
    return jsonify(roster.edit(head_id, _fields(change, False), change.version,
                               viewer.current().scope_params(), _actor()))


@bp.post("/api/contacts/<int:head_id>/retire")
@roles_required(*EDITORS)
def retire_contact(head_id):
    version = validate.body(validate.Versioned).version
    return jsonify(roster.retire(head_id, version, viewer.current().scope_params(), _actor()))


@bp.post("/api/contacts/<int:head_id>/replace")
@roles_required(*EDITORS)
def replace_contact(head_id):
    change = validate.body(validate.EditContact)
    new = roster.replace(head_id, _fields(change, True), change.version, viewer.current().scope_params(),
                         _actor())
    return jsonify(new), 201


@bp.post("/api/contacts")
@roles_required(*EDITORS)
def add_contact():
    contact = validate.body(validate.NewContact)
    fields = _fields(contact, True)
    fields.update(role=contact.role, compound_id=contact.compound_id, building_id=contact.building_id,
                  unit_id=contact.unit_id)
    try:
        new = roster.add(fields, viewer.current().scope_params(), _actor())
    except roster.NotFound:
        raise NotFound(_("没有这个楼院，或不在您的范围内")) from None
    except sa.exc.IntegrityError:  # the head table's checks: unknown role, or post without its unit
        raise BadRequest(_("职务与楼栋/单元不匹配，或职务未知")) from None
    return jsonify(new), 201


@bp.get("/roster")
@roles_required(*EDITORS, "grid_leader", "official")
@validate.query(validate.Roster)
def roster_page():
    area = myarea.my_area(viewer.current().scope_params())
    compound_id = request.args.get("compound", type=int) or (area["compounds"][0]["id"] if area["compounds"] else None)
    heads = roster.compound_roster(compound_id, viewer.current().scope_params()) if compound_id else []
    return render_template("roster.html", area=area, compound_id=compound_id, heads=heads,
                           can_edit=viewer.current().role in EDITORS,
                           roles=roster.role_names(str(get_locale()) == "en"))
