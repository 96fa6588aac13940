"""Chinese by default, English available: every message in the code has its English."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def test_every_message_has_an_english_translation():
    found = {message for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "webmap", method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={"_": None, "gettext": None})}
    with open(ROOT / "webmap/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale="en")
    untranslated = sorted(m for m in found if not (catalog.get(m) and catalog.get(m).string)
                          or catalog.get(m).fuzzy)
    assert found and untranslated == []


def test_chinese_by_default_english_on_request(client):
    assert "该位置不在中心路街道范围内" in client.get("/api/lookup?lon=100&lat=20").get_json()["error"]
    english = client.get("/api/lookup?lon=100&lat=20&lang=en")
    assert english.get_json()["error"] == "This place is outside Zhongxinlu subdistrict"
    assert "lang=en" in english.headers["Set-Cookie"]
    # the choice is remembered
    assert client.get("/api/lookup?lon=100&lat=20").get_json()["error"].startswith("This place")
