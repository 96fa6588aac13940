"""`/meetings`: record a consultation meeting (协商活动) and see the recent ones of one's area.

The form posts to the same JSON API as any client (`POST /api/meetings`)."""
from flask import Blueprint, render_template

from layers import db
from layers.scope import in_scope
from webmap import viewer
from webmap.auth import roles_required

bp = Blueprint("meetings", __name__)

VENUES = f"""
    SELECT v.id, v.name, m.name AS community,
           (SELECT json_agg(json_build_object('code', p.code, 'name', p.name_zh) ORDER BY p.code)
              FROM venue_platform vp JOIN platform p ON p.code = vp.platform
             WHERE vp.venue_id = v.id) AS platforms
      FROM venue v JOIN community m ON m.id = v.community_id
     WHERE {in_scope("v.community_id", "v.community_id")} ORDER BY m.id, v.id"""

OPEN_ISSUES = f"""
    SELECT i.id, i.title, st.name_zh AS stage_name FROM issue i JOIN stage st ON st.code = i.stage
     WHERE st.is_open AND {in_scope("i.community_id", "i.grid_id")}
     ORDER BY i.reported_at DESC LIMIT 200"""

RECENT = f"""
    SELECT mt.id, to_char(mt.held_on, 'YYYY-MM-DD') AS held_on, mt.title, v.name AS venue,
           p.name_zh AS platform, mt.attendee_count,
           (SELECT count(*) FROM meeting_issue mi WHERE mi.meeting_id = mt.id) AS issues
      FROM meeting mt JOIN venue v ON v.id = mt.venue_id JOIN platform p ON p.code = mt.platform
     WHERE {in_scope("v.community_id", "v.community_id")}
     ORDER BY mt.held_on DESC, mt.id DESC LIMIT 30"""


@bp.get("/meetings")
@roles_required("community_staff", "admin")
def meetings_page():
    scope = viewer.current().scope_params()
    return render_template("meetings.html", venues=db.rows(VENUES, scope),
                           issues=db.rows(OPEN_ISSUES, scope), recent=db.rows(RECENT, scope))
