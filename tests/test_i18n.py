"""Chinese by default, English available: every message in the code has its English, and no
Chinese text reaches a page except through the catalogue (or as data)."""
import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# What marks a message in the code: gettext and its plural, and the refusals of layers/
# (layers.messages.Refusal: their first argument is the msgid).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "WorkflowError": None, "MeetingError": None, "UserError": None, "Refusal": None,
            "PatrolError": None}


def catalog():
    with open(ROOT / "webmap/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        return read_po(f, locale="en")


def messages(folder, method_map):
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_an_english_translation():
    found = (messages("webmap", [("**.py", "python"), ("**/templates/**.html", "jinja2")])
             | messages("layers", [("**.py", "python")]))
    cat = catalog()
    untranslated = sorted(m for m in found if not (cat.get(m) and cat.get(m).string)
                          or cat.get(m).fuzzy)
    assert found and untranslated == []


def _strings_outside_comments(js):
    """The string literals of a script (comments dropped), roughly as a tokenizer sees them."""
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", js, flags=re.S)
    return re.findall(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', code)


def test_page_scripts_hold_no_chinese_text():
    """The scripts' text comes translated from the server (their ``strings``), never written in."""
    found = {path.name: [s for s in _strings_outside_comments(path.read_text()) if CJK.search(s)]
             for path in (ROOT / "webmap/static").glob("*.js")}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_templates_have_no_chinese_outside_messages():
    """Template text is wrapped in _(): once the calls are removed, no Chinese is left."""
    call = re.compile(r"""_\(\s*(["'])(?:(?!\1).)*\1""", re.S)
    left = {}
    for path in (ROOT / "webmap/templates").glob("*.html"):
        text = call.sub("", path.read_text())
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        if CJK.search(text):
            left[path.name] = CJK.findall(text)
    assert left == {}


def test_layers_raise_only_translatable_refusals():
    """A refusal raised from layers/ for a user (layers.messages.Refusal) is a msgid (a plain
    string, not an f-string), so the web layer can translate it."""
    paths = sorted((ROOT / "layers").glob("*.py"))
    modules = [ast.parse(path.read_text()) for path in paths]
    refusals = {"Refusal"} | {node.name for tree in modules for node in ast.walk(tree)
                              if isinstance(node, ast.ClassDef)
                              and any(getattr(b, "id", None) == "Refusal" for b in node.bases)}
    assert {"WorkflowError", "MeetingError", "UserError"} <= refusals
    bad = []
    for path, tree in zip(paths, modules):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
                    and getattr(node.exc.func, "id", None) in refusals):
                first = node.exc.args[0]
                if isinstance(first, ast.JoinedStr) and CJK.search(ast.unparse(first)):
                    bad.append(f"{path.name}:{node.lineno}")
    assert bad == []


def test_a_refusal_from_layers_is_answered_in_english(app):
    from layers import workflow
    from webmap import i18n

    with app.test_request_context("/?lang=en"):
        exc = workflow.WorkflowError("不能从“%(stage)s”直接到“%(to)s”，下一步应为“%(next)s”",
                                     stage="topic", to="publish", next="notice")
        assert i18n.refusal(exc) == "Cannot go from “Topic set” straight to “Result published”; the next step is “Notice”"
        assert "“topic”" in str(exc)  # the CLI and logs read the Chinese
    with app.test_request_context("/"):
        assert i18n.refusal(exc).startswith("不能从“确定议题”")


def test_chinese_by_default_english_on_request(client):
    assert "该位置不在中心路街道范围内" in client.get("/api/lookup?lon=100&lat=20").get_json()["error"]
    english = client.get("/api/lookup?lon=100&lat=20&lang=en")
    assert english.get_json()["error"] == "This place is outside Zhongxinlu subdistrict"
    assert "lang=en" in english.headers["Set-Cookie"]
    # the choice is remembered
    assert client.get("/api/lookup?lon=100&lat=20").get_json()["error"].startswith("This place")
