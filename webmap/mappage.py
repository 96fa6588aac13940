"""The skeleton both map pages share (`/` and `/hotspots`): a folium map with the app's own
Leaflet assets and the configured basemap, and the page around it — title, the shared
navigation, the page's styles and scripts, its configuration, the call that starts its script
once every layer exists, and the CSP nonces (webmap/security.py). Each page adds only its layers.
"""
import json

import folium
from branca.element import MacroElement
from flask import Response, current_app
from jinja2 import Template
from markupsafe import escape

from webmap import assets, basemaps, i18n, nav, security


def new_map(location, **options):
    """A folium map at ``location`` (lat, lon) with local assets and the configured basemap."""
    m = folium.Map(location=location, zoom_start=15, tiles=None, control_scale=True, **options)
    m.options["zoomSnap"] = 0.25  # fit an area snugly on any screen
    assets.localize(m)
    basemaps.add(m, current_app.config["BASEMAP"], current_app.config.get("TIANDITU_KEY"))
    return m


class _Start(MacroElement):
    """Runs ``call`` (JS) in folium's script, after every layer and control it declares (folium
    declares them with ``let``, so they are not properties of ``window``: the call names them)."""
    _template = Template("{% macro script(this, kwargs) %}{{ this.call }}{% endmacro %}")

    def __init__(self, call):
        super().__init__()
        self.call = call


def respond(m, *, title, styles, scripts, module, config, start, head="", body_scripts=()):
    """The page of map ``m``: ``styles`` and ``scripts`` (URLs) in the head, then ``head`` (HTML),
    then ``module.configure(config)``; ``body_scripts`` after Leaflet; ``start`` (JS) last."""
    payload = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    root = m.get_root()
    root.header.add_child(folium.Element(
        f'<title>{escape(title)}</title><link rel="icon" href="data:,">'
        + "".join(f'<link rel="stylesheet" href="{href}">' for href in ("/static/nav.css", *styles))
        + "".join(f'<script src="{src}"></script>' for src in ("/static/mapkit.js", *scripts))
        + head + f"<script>{module}.configure({payload});</script>"))
    if body_scripts:
        root.html.add_child(folium.Element("".join(f'<script src="{src}"></script>' for src in body_scripts)))
    root.html.add_child(folium.Element(nav.html()), index=0)
    m.add_child(_Start(start))  # last child: runs after every layer and control exists
    return Response(security.folium_html(root, i18n.html_lang()), mimetype="text/html")
