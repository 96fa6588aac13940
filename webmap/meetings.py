"""`/meetings`: record a consultation meeting (协商活动) and see the recent ones of one's area.

The form posts to the same JSON API as any client (`POST /api/meetings`)."""
from flask import Blueprint, render_template

from layers import meetings
from webmap import i18n, viewer
from webmap.auth import roles_required

bp = Blueprint("meetings", __name__)


@bp.get("/meetings")
@roles_required("community_staff", "admin")
def meetings_page():
    return render_template("meetings.html", **meetings.page(viewer.current().scope_params(), en=i18n.english()))
