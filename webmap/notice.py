"""`/notice`: the public 公示 pages of each community (printable, no personal data)."""
from flask import Blueprint, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from layers import issues, notice
from webmap import i18n

bp = Blueprint("notice", __name__, url_prefix="/notice")


@bp.get("/")
def index():
    return render_template("notice_index.html", communities=notice.communities())


@bp.get("/community/<int:community_id>")
def community(community_id):
    found = notice.community_notice(community_id, en=i18n.english())
    if found is None:
        raise NotFound(_("没有这个社区：%(id)s", id=community_id))
    return render_template("notice.html", notice=found, today=issues.today().isoformat(), satisfaction=i18n.satisfaction_names(),
                           communities=notice.communities())
