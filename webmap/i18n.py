"""Chinese by default, English on request (``?lang=en``, remembered in a cookie).

Messages are written in Chinese in the code; ``translations/en`` holds the English."""
from flask import request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


def select_locale():
    lang = request.args.get("lang") or request.cookies.get("lang")
    return lang if lang in LANGUAGES else DEFAULT


def remember_choice(response):
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def refusal(exc):
    """A refusal raised from layers/ (layers.messages.Refusal) in this request's language."""
    from layers import lookups

    stages = lookups.names(en=english())["stage"]
    params = {k: stages.get(v, v) if k in ("stage", "to", "next") else v for k, v in exc.params.items()}
    return _(exc.msgid, **params)


def english():
    """Whether this request is answered in English."""
    return str(get_locale()) == "en"


def satisfaction_names():
    return {"satisfied": _("满意"), "mostly_satisfied": _("基本满意"), "unsatisfied": _("不满意")}


def html_lang():
    """The page's ``<html lang>``: en, or zh-CN."""
    return "en" if str(get_locale()) == "en" else "zh-CN"


def init_app(app):
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT,
          default_translation_directories="webmap/translations")
    app.after_request(remember_choice)
    app.context_processor(lambda: {"html_lang": html_lang()})
