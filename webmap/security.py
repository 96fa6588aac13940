"""The headers that keep a page's own data from being turned against its viewer, in one place.

- ``Content-Security-Policy``: scripts and styles only from the app itself or carrying the
  request's nonce, so text that slips past an escape cannot run; no plugins, no ``<base>``,
  no framing. Images may also come from the configured basemap's tile servers.
- ``Cache-Control: no-store`` on what may carry personal data (every answer to a signed-in
  user except the few that never do, and every HTML page), so no browser or proxy keeps
  a 三长's phone on disk.
- ``Strict-Transport-Security`` when the request came over HTTPS. Behind a reverse proxy that
  terminates TLS, set ``FORWARDED_PROXIES`` to the number of proxies in front of the app, and
  the app trusts their ``X-Forwarded-For``/``X-Forwarded-Proto`` (werkzeug's ProxyFix).

folium writes inline ``<script>``/``<style>`` blocks of its own; ``folium_html`` renders a
folium page with the nonce on each of them.
"""
import re
import secrets

from flask import current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from webmap import basemaps

HSTS = "max-age=31536000; includeSubDomains"
# Endpoints whose answers never carry personal data, whoever asks: they keep the caching
# their views chose. Everything else is no-store for a signed-in user.
SHARED = {
    "static", "assets.vendor", "tiles.tile", "tiles.tilejson", "api.heat", "api.legend", "api.area_tree",
    "search.places", "issues.choices", "openapi.openapi_json", "health.healthz",
}
SHARED_LAYERS = {"communities", "grids", "compounds", "issues", "venues", "deputies"}  # not buildings: 三长 phones


def nonce():
    """This request's CSP nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def policy(nonce_value=None):
    """The Content-Security-Policy of a response; ``nonce_value`` if the page used one."""
    own = "'self'" + (f" 'nonce-{nonce_value}'" if nonce_value else "")
    images = " ".join(["'self'", "data:", "blob:"] + basemaps.tile_origins(current_app.config.get("BASEMAP")))
    return "; ".join((
        "default-src 'self'",
        f"script-src {own}",
        f"style-src {own}",
        f"img-src {images}",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _shared():
    endpoint = request.endpoint or ""
    if endpoint == "api.layer_geojson":
        return (request.view_args or {}).get("layer") in SHARED_LAYERS
    return endpoint in SHARED


def _signed_in():
    # Only a user the request already loaded: an answer that never asked who is looking
    # cannot depend on it, and asking here would hit the database after the view is done.
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def _private(response):
    return not _shared() and (response.mimetype == "text/html" or _signed_in())


def headers(response):
    response.headers["Content-Security-Policy"] = policy(g.get("csp_nonce"))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if _private(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("ETag", None)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


_INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)(?=[\s>])", re.I)


def _nonced(markup, value):
    return _INLINE.sub(lambda m: f'<{m.group(1)} nonce="{value}"', markup)


def folium_html(figure, lang):
    """The HTML page of a folium figure, each of its inline blocks carrying the nonce.

    The nonce is written into folium's header blocks and its one script block only: the
    page's data reaches the page inside that script as JSON (folium's ``tojson``) or as
    escaped text, so nothing in it can open a block of its own that would carry the nonce.
    """
    value = nonce()
    for child in figure._children.values():
        child.render()
    header = _nonced(figure.header.render(), value)
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{header}\n</head>\n<body>\n'
            f'{figure.html.render()}\n</body>\n<script nonce="{value}">\n{figure.script.render()}\n</script>\n</html>\n')


def init_app(app):
    forwarded = int(app.config.get("FORWARDED_PROXIES") or 0)
    if forwarded:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=forwarded, x_proto=forwarded, x_host=forwarded)
    app.after_request(headers)
