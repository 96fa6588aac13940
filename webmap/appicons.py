"""The app's home-screen icons, drawn with Pillow when first asked for (no image files to keep).

A 3×3 block of compounds in the map's colors on the theme color: ``maskable`` keeps the
drawing inside the central 80 % circle that Android may crop the icon to.
"""
import functools
import io

from PIL import Image, ImageDraw

THEME = "#1d4ed8"
FILLS = ["#fde68a", "#f59e0b", "#dc2626", "#cccccc", "#fde68a", "#f97316",
         "#10b981", "#cccccc", "#f59e0b"]
SIZES = {"icon-192": (192, False), "icon-512": (512, False), "maskable-512": (512, True),
         "apple-touch-icon": (180, False)}


@functools.lru_cache(maxsize=None)
def png(name):
    """The PNG bytes of icon ``name`` (a key of SIZES)."""
    size, maskable = SIZES[name]
    image = Image.new("RGB", (size, size), THEME)
    draw = ImageDraw.Draw(image)
    inset = size * (0.24 if maskable else 0.14)   # the safe zone of a maskable icon is r = 40 %
    cell = (size - 2 * inset) / 3
    gap = max(2, round(cell * 0.1))
    for i, fill in enumerate(FILLS):
        x, y = inset + (i % 3) * cell, inset + (i // 3) * cell
        draw.rounded_rectangle([x + gap, y + gap, x + cell - gap, y + cell - gap],
                               radius=gap * 2, fill=fill, outline="#ffffff", width=max(1, gap // 2))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
