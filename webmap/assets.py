"""Front-end assets, all served by the app: npm packages from ``node_modules`` (installed by
`make` from package-lock.json) under /vendor, and the app's own files under /static.

folium points every asset at a CDN; ``localize`` swaps them per map or plugin instance for
the local copies, and fails loudly on an asset it does not know, so a folium upgrade can
never quietly bring a CDN back.
"""
import json
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
PACKAGES = set(json.loads((ROOT / "package.json").read_text())["dependencies"])

bp = Blueprint("assets", __name__)

# folium's asset names → files inside node_modules; None drops an asset the map doesn't use.
LOCAL = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "jquery": "jquery/dist/jquery.min.js",  # folium's popups build their HTML with $()
    "bootstrap": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_rotate_css": None,
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet-heat.js": "leaflet.heat/dist/leaflet-heat.js",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "Control_locate_min_js": "leaflet.locatecontrol/dist/L.Control.Locate.min.js",
    "Control_locate_min_css": "leaflet.locatecontrol/dist/L.Control.Locate.min.css",
    "Leaflet_Realtime_js": "leaflet-realtime/dist/leaflet-realtime.js",
}


def vendor_url(path):
    return f"/vendor/{path}"


def localize(element):
    """Point ``element``'s JS and CSS at the app's own copies (per instance)."""
    for attr in ("default_js", "default_css"):
        assets = []
        for name, _url in getattr(element, attr, []):
            if name not in LOCAL:
                raise KeyError(f"no local copy of folium asset {name!r}; add it to webmap/assets.py")
            if LOCAL[name]:
                assets.append((name, vendor_url(LOCAL[name])))
        setattr(element, attr, assets)
    return element


@bp.get("/vendor/<path:filename>")
def vendor(filename):
    package = "/".join(filename.split("/")[:2]) if filename.startswith("@") else filename.split("/")[0]
    if package not in PACKAGES:
        abort(404)
    return send_from_directory(NODE_MODULES, filename, max_age=86400)
