"""The visible seal: a red ring, the department's name along the top arc, a star, "电子证照专用章"."""

from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # Debian fonts-wqy-zenhei
SEAL_RED = (220, 20, 30, 255)
SEAL_CAPTION = "电子证照专用章"


def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(FONT_PATH, size, index=0)
    except OSError as e:
        raise RuntimeError(f"CJK font missing at {FONT_PATH}: apt-get install fonts-wqy-zenhei") from e


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


@lru_cache(maxsize=256)
def seal_image(department_name: str, size: int = 360) -> Image.Image:
    """RGBA seal image, drawn once per department and reused for every document."""
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2
    ring = size * 0.035
    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=SEAL_RED, width=int(ring))
    draw.polygon(_star(c, c, size * 0.14), fill=SEAL_RED)

    glyph = int(size * 0.115)
    font = _font(glyph)
    text_r = c - ring - glyph * 0.75
    span = min(math.radians(250), math.radians(24) * max(len(department_name), 1))
    n = len(department_name)
    for i, ch in enumerate(department_name):
        a = -math.pi / 2 - span / 2 + (span * (i + 0.5) / n)
        tile = Image.new("RGBA", (glyph * 2, glyph * 2), (255, 255, 255, 0))
        ImageDraw.Draw(tile).text((glyph, glyph), ch, font=font, fill=SEAL_RED, anchor="mm")
        tile = tile.rotate(-math.degrees(a + math.pi / 2), resample=Image.BICUBIC)
        x, y = c + text_r * math.cos(a), c + text_r * math.sin(a)
        img.alpha_composite(tile, (int(x - glyph), int(y - glyph)))

    draw.text((c, c + size * 0.26), SEAL_CAPTION, font=_font(int(size * 0.075)), fill=SEAL_RED, anchor="mm")
    return img


def seal_png(department_name: str, size: int = 160) -> bytes:
    """A small palette PNG (a few KB): it travels inside every SM2 record seal's SESeal."""
    buf = io.BytesIO()
    img = seal_image(department_name).resize((size, size), Image.LANCZOS)
    img.quantize(colors=16).save(buf, "PNG", optimize=True)
    return buf.getvalue()
