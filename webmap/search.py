"""`GET /api/search?q=`: places by name or pinyin for the map's search box (layers/search.py)."""
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from layers import search
from webmap import validate

bp = Blueprint("search", __name__, url_prefix="/api")


@bp.get("/search")
@validate.query(validate.Search)
def places():
    q = request.args.get("q", "").strip()
    if not q:
        raise BadRequest(_("缺少参数 %(name)s", name="q"))
    if len(q) > search.MAX_QUERY:
        raise BadRequest(_("参数 %(name)s 太长：最多 %(max)s 个字符", name="q", max=search.MAX_QUERY))
    response = jsonify(results=search.search(q))
    # Names and outlines only, the same for everyone: a browser may reuse them for a minute.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
