"""The 电子底册's audit trail made readable, and undoing a retirement.

Two history pages (one contact, one compound) show who changed what, when, from what to
what; both read the append-only ``head_event`` trail within the viewer's area. The roster
page itself and the contact edits live in ``webmap.area``.
"""
from flask import Blueprint, jsonify, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from layers import myarea, roster
from webmap import validate, viewer
from webmap.area import EDITORS, _actor
from webmap.auth import roles_required

bp = Blueprint("roster", __name__)
READERS = (*EDITORS, "grid_leader", "official")


# A contact not found or edited by someone else: answered once for the app, in webmap/area.py.


@bp.errorhandler(roster.TooLate)
def too_late(_exc):
    return jsonify(error=_("只能撤销当天的卸任")), 409


@bp.post("/api/contacts/<int:head_id>/unretire")
@roles_required(*EDITORS)
def unretire_contact(head_id):
    version = validate.body(validate.Versioned).version
    return jsonify(roster.unretire(head_id, version, viewer.current().scope_params(), _actor()))


def _labels():
    fields = {"role_name": _("职务"), "compound": _("楼院"), "building": _("楼栋"), "unit": _("单元"),
              "name": _("姓名"), "phone": _("电话"), "appointed_on": _("任职日期"),
              "certificate_no": _("聘书编号"), "retired_on": _("卸任日期")}
    actions = {"add": _("新增"), "edit": _("修改"), "replace": _("接任"), "retire": _("卸任"),
               "unretire": _("撤销卸任")}
    return fields, actions


def _page(title, names, events, back, show_head):
    fields, actions = _labels()
    return render_template("roster_history.html", title=title, names=names, events=events, back=back,
                           show_head=show_head, fields=fields, actions=actions,
                           roles=roster.role_names(str(get_locale()) == "en"))


@bp.get("/roster/contacts/<int:head_id>/history")
@roles_required(*READERS)
def contact_history_page(head_id):
    scope = viewer.current().scope_params()
    try:
        head = roster.contact(head_id, scope)
        events = roster.history(head_id, scope)
    except roster.NotFound:
        raise NotFound(_("没有这个联系人，或不在您的范围内")) from None
    role = roster.role_names(str(get_locale()) == "en")[head["role"]]
    title = _("%(name)s（%(role)s）的变更记录", name=head["name"], role=role)
    return _page(title, head["name"], events, head["compound_id"], False)


@bp.get("/roster/compounds/<int:compound_id>/history")
@roles_required(*READERS)
def compound_history_page(compound_id):
    scope = viewer.current().scope_params()
    compound = next((c for c in myarea.my_area(scope)["compounds"] if c["id"] == compound_id), None)
    if compound is None:
        raise NotFound(_("没有这个楼院，或不在您的范围内"))
    title = _("%(name)s 三长的变更记录", name=compound["name"])
    return _page(title, compound["name"], roster.compound_history(compound_id, scope), compound_id, True)
