"""Decode a QR code from what is drawn: light/dark cells made into a bitmap for a real decoder.

zxing-cpp (the ``zxing-cpp`` wheel) reads the bitmap. Inverted codes are not tried, so a code drawn
light on dark does not decode: the test sees the polarity a phone app would.
"""

from __future__ import annotations

from collections.abc import Sequence

import zxingcpp

HALF_BLOCKS = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
"""glyph -> (upper half drawn, lower half drawn)."""

Pixels = Sequence[Sequence[bool]]
"""Rows of module-sized pixels, True for light."""


def pixels_of_lines(lines: Sequence[str]) -> list[list[bool]]:
    """Half-block lines whose glyphs are light and background dark (``mfa.qr_text``'s drawing)."""
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([HALF_BLOCKS[char][0] for char in line])
        rows.append([HALF_BLOCKS[char][1] for char in line])
    return rows


def decode(pixels: Pixels, *, scale: int = 4, surround: int = 6) -> list[str]:
    """The texts of the QR codes found in ``pixels``, each pixel drawn ``scale`` times larger and
    the whole surrounded by ``surround`` dark pixels (a dark terminal around the code)."""
    width = max(len(row) for row in pixels) + 2 * surround
    dark_row = [False] * width
    framed = [dark_row] * surround
    for row in pixels:
        framed.append([False] * surround + list(row) + [False] * (width - surround - len(row)))
    framed.extend([dark_row] * surround)
    image = bytearray()
    for row in framed:
        line = bytes(255 if light else 0 for light in row for _ in range(scale))
        image += line * scale
    view = memoryview(bytes(image)).cast("B", (len(framed) * scale, width * scale))
    return [found.text for found in zxingcpp.read_barcodes(view, try_invert=False)]
