"""The printed 彩色动态图 (一图): PNG and A4 PDF for the subdistrict and one community."""
import datetime as dt
import io
import re
import warnings
from pathlib import Path
from urllib.parse import quote

import matplotlib
import pytest
import sqlalchemy as sa
from matplotlib.figure import Figure
from PIL import Image

from webmap import modes, printmap

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
GLYPH_MISSING = re.compile(r"Glyph \d+ .* missing from font")


def _rgb(hex_color):
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _get(client, url):
    """The response, and the texts of any missing-glyph warnings matplotlib gave meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.get(url)
    return response, [str(w.message) for w in caught if GLYPH_MISSING.search(str(w.message))]


def _colors(png):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image, {rgb for _count, rgb in image.getcolors(maxcolors=1 << 20)}


def _community_id(engine, name):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM community WHERE name = :n"), {"n": name}).scalar_one()


def test_missing_glyph_warnings_are_seen():
    """The check below means something: without a CJK font, matplotlib does warn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            fig = Figure()
            fig.text(0.5, 0.5, "汇丰社区")
            fig.savefig(io.BytesIO(), format="png")
    assert any(GLYPH_MISSING.search(str(w.message)) for w in caught)


def test_subdistrict_png(client):
    response, missing = _get(client, "/print/subdistrict.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert missing == []
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    image, colors = _colors(response.data)
    assert image.width >= 1500 and image.width > image.height  # A4 landscape at 200 dpi
    assert len(colors) > 200
    # Same classes as the web map: the calm color and the legend's colors are on the sheet.
    assert _rgb(modes.CALM) in colors and _rgb(modes.OPEN_COLORS[0]) in colors
    assert _rgb(printmap.STAMP) in colors  # the sample is stamped 示例数据
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="subdistrict-open-')
    assert f"filename*=UTF-8''{quote('中心路街道_彩色动态图_未办结诉求')}" in disposition
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "print_subdistrict_open.png").write_bytes(response.data)


def test_community_png_for_huifeng(client, engine):
    community_id = _community_id(engine, "汇丰社区")
    response, missing = _get(client, f"/print/community/{community_id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert missing == []
    image, colors = _colors(response.data)
    assert image.width >= 1500 and len(colors) > 200
    assert _rgb(printmap.CONTEXT) in colors  # the neighbouring compounds, in grey
    assert quote("中心路街道_汇丰社区_彩色动态图_未办结诉求") in response.headers["Content-Disposition"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "print_community_huifeng_open.png").write_bytes(response.data)


def test_community_pdf_embeds_the_cjk_font(client, engine):
    community_id = _community_id(engine, "汇丰社区")
    response, missing = _get(client, f"/print/community/{community_id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert missing == []
    assert response.data.startswith(b"%PDF")
    assert b"NotoSansCJK" in response.data
    assert b"/MediaBox [ 0 0 841.68 595.44 ]" in response.data  # A4 landscape, in points
    assert response.headers["Content-Disposition"].startswith(f'inline; filename="community-{community_id}-open-')


def test_subdistrict_pdf(client):
    response, missing = _get(client, "/print/subdistrict.pdf?mode=governance")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert missing == [] and b"NotoSansCJK" in response.data


def test_grid_mode(client, engine):
    community_id = _community_id(engine, "汇丰社区")
    response, missing = _get(client, f"/print/community/{community_id}.png?mode=grid")
    assert response.status_code == 200 and missing == []
    _image, colors = _colors(response.data)
    assert colors & {_rgb(c) for c in modes.GRID_COLORS}
    assert _rgb(modes.CALM) not in colors
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "print_community_huifeng_grid.png").write_bytes(response.data)


def test_as_of_is_the_date_of_the_print(client):
    day = (dt.date.today() - dt.timedelta(days=365)).isoformat()
    response, missing = _get(client, f"/print/subdistrict.png?mode=sla&as_of={day}")
    assert response.status_code == 200 and missing == []
    assert f"-{day}.png" in response.headers["Content-Disposition"]
    _image, colors = _colors(response.data)
    assert colors & {_rgb(c) for c in modes.SLA_COLORS.values()}


@pytest.mark.parametrize("url, status", [
    ("/print/community/9999.png", 404),
    ("/print/community/9999.pdf", 404),
    ("/print/community/1.svg", 404),
    ("/print/subdistrict.png?mode=rainbow", 400),
    ("/print/community/1.pdf?mode=rainbow", 400),
    ("/print/subdistrict.png?as_of=yesterday", 400),
])
def test_refusals_are_short_and_not_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype != "application/json" and len(response.data) < 1000


def test_no_stamp_on_real_data(client, engine):
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE subdistrict SET is_sample = false"))
    try:
        response, _missing = _get(client, "/print/subdistrict.png")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE subdistrict SET is_sample = true"))
    _image, colors = _colors(response.data)
    assert response.status_code == 200 and _rgb(printmap.STAMP) not in colors


def test_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(printmap, "CJK_FAMILY", "No Such CJK Font")
    monkeypatch.setattr(printmap, "NOTO_DIR", tmp_path)
    with pytest.raises(printmap.FontMissing, match="fonts-noto-cjk"):
        printmap.cjk_font_rc()
