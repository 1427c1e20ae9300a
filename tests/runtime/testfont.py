"""A tiny WOFF2 font made on the fly, so Google Fonts tests need no network and no font file.

Every printable ASCII glyph is a filled box one em wide: text set in it measures exactly
`len(text) * font-size`, which no fallback font does, so a test can tell it was applied.
"""

from __future__ import annotations

import io
from functools import cache

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

UNITS_PER_EM = 1000


def _box() -> object:
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, 700))
    pen.lineTo((950, 700))
    pen.lineTo((950, 0))
    pen.closePath()
    return pen.glyph()


@cache
def box_font_woff2(family: str = "BoxTest") -> bytes:
    chars = [chr(c) for c in range(0x20, 0x7F)]
    names = [".notdef", *(f"g{ord(c):02x}" for c in chars)]
    fb = FontBuilder(UNITS_PER_EM, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"g{ord(c):02x}" for c in chars})
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({n: (empty if n in (".notdef", "g20") else _box()) for n in names})
    fb.setupHorizontalMetrics({n: (UNITS_PER_EM, 0) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.font.flavor = "woff2"
    out = io.BytesIO()
    fb.font.save(out)
    return out.getvalue()
