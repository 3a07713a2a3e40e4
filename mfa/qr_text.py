"""A QR code as lines of text: half-block characters, two modules per character cell vertically.

A terminal cell is about twice as tall as it is wide, so one cell holds two modules one above the
other and the modules come out square. In every line this module returns, a character's *drawn*
part (its glyph, in the foreground colour) is a **light** module and the rest (the background) is a
**dark** one:

====== ============ ===============
glyph  upper module lower module
====== ============ ===============
``█``  light        light
``▀``  light        dark
``▄``  dark         light
space  dark         dark
====== ============ ===============

Why light is the glyph: the quiet zone around the code and most of the code are light, and with the
colours stripped (``NO_COLOR`` in a terminal drawing with its own colours) a terminal with a dark
background still shows the glyphs light on dark, which is the code the right way round. With colour
the widget draws the glyphs white on black (``tui.widgets.qr``).

How big it gets: an ``otpauth://`` URI holds a 32-character secret, the issuer twice and an e-mail
address: 95 to 125 bytes for usual names. As one byte-mode segment, 108 bytes need version 6 (41
modules); with the base32 secret in its own alphanumeric segment (5.5 bits a character instead of
8) they fit version 5 (37 modules) at error correction level L, and 120 bytes (the demo's "Acme
Logistics" and "jordan.lee@example.com") need version 6. Drawn, version 5 takes 41x21 cells with a
quiet zone of 2 and 45x23 with the standard's 4; version 6 takes 45x23 with 2. So on an 80x24
screen the code takes nearly the full height, and 35 columns stay beside it. Level L is the lowest;
:func:`qr_matrix` lets segno raise it when that costs no size.

The quiet zone: ISO/IEC 18004 asks for 4 modules. Measured with zxing-cpp on a bitmap of the drawing
surrounded by dark (a dark terminal), 1 module decodes and 0 does not. :func:`quiet_zone_for` takes
the widest from 4 down to 1 that fits the room there is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import segno

STANDARD_QUIET_ZONE = 4
"""The light margin ISO/IEC 18004 asks for, in modules."""

MIN_QUIET_ZONE = 1
"""The smallest margin drawn, when nothing wider fits: the least that still decodes (see above)."""

DEFAULT_QUIET_ZONE = 2
"""The margin of :func:`qr_lines` when no room is given."""

Matrix = tuple[tuple[bool, ...], ...]
"""Rows of modules, True for dark, without a quiet zone."""

_GLYPHS = {
    (True, True): "█",
    (True, False): "▀",
    (False, True): "▄",
    (False, False): " ",
}
"""(upper light, lower light) -> the character drawing them."""

# Runs this long of characters QR's alphanumeric mode can hold (upper case, digits, a few signs) are
# worth their own segment: a mode switch costs about 25 bits, and each character saves 2.5.
_ALPHANUMERIC_RUN = re.compile(r"[0-9A-Z $%*+\-./:]{12,}")


def segments(text: str) -> list[str]:
    """``text`` cut so that long alphanumeric runs (a base32 secret) are segments of their own."""
    parts: list[str] = []
    position = 0
    for run in _ALPHANUMERIC_RUN.finditer(text):
        if run.start() > position:
            parts.append(text[position : run.start()])
        parts.append(run.group())
        position = run.end()
    if position < len(text):
        parts.append(text[position:])
    return parts or [text]


def qr_matrix(text: str) -> Matrix:
    """The smallest QR code (error correction level L, raised by segno when free) for ``text``."""
    # segno picks each segment's mode itself: byte for the parts with lower case, alphanumeric for
    # the runs cut out above.
    code = segno.make(segments(text), error="L", micro=False, boost_error=True)
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


def drawn_size(modules: int, quiet_zone: int) -> tuple[int, int]:
    """(columns, lines) that :func:`half_block_lines` takes for a code of ``modules`` per side."""
    side = modules + 2 * quiet_zone
    return side, (side + 1) // 2


def quiet_zone_for(modules: int, max_columns: int, max_lines: int) -> int | None:
    """The widest quiet zone, from the standard's 4 down to 1, that fits; None when none fits."""
    for quiet_zone in range(STANDARD_QUIET_ZONE, MIN_QUIET_ZONE - 1, -1):
        columns, lines = drawn_size(modules, quiet_zone)
        if columns <= max_columns and lines <= max_lines:
            return quiet_zone
    return None


def half_block_lines(
    matrix: Sequence[Sequence[bool]], quiet_zone: int = MIN_QUIET_ZONE
) -> list[str]:
    """Draw ``matrix`` (True = dark) with a light quiet zone; glyphs are the light modules.

    The side is odd (QR codes are 4v+17 modules), so the last line's lower half is one more light
    row: a little more quiet zone at the bottom.
    """
    side = len(matrix) + 2 * quiet_zone
    light_row = [True] * side
    rows = [light_row] * quiet_zone
    for row in matrix:
        rows.append([True] * quiet_zone + [not dark for dark in row] + [True] * quiet_zone)
    rows.extend([light_row] * quiet_zone)
    if len(rows) % 2:
        rows.append(light_row)
    return [
        "".join(_GLYPHS[(upper, lower)] for upper, lower in zip(rows[y], rows[y + 1], strict=True))
        for y in range(0, len(rows), 2)
    ]


def qr_lines(text: str, quiet_zone: int = DEFAULT_QUIET_ZONE) -> list[str]:
    """``text`` as a QR code drawn in half blocks (see the module's docstring)."""
    return half_block_lines(qr_matrix(text), quiet_zone)
