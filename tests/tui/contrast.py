"""Measure the contrast of every character the app draws, as a 16-colour terminal shows it.

How it is measured:

1. The screen is rendered the way the app writes it to the terminal: the compositor's full update
   (line filters applied), every segment's colours downgraded to the console's colour system
   (``Color.downgrade``, exactly what ``Strip.render`` does before writing). In a 16-colour
   terminal (``TERM=linux``, or ``TERM=xterm``) that gives each character a colour number 0-15
   for its foreground and its background (or "default").
2. The numbers are turned into RGB with two palettes: xterm's standard one and the Linux console's
   (VGA). Attributes are applied as each terminal shows them:

   - xterm: reverse swaps the colours; bold may or may not brighten colours 0-7 (xterm's
     ``boldColors``, on by default; many terminals don't), so both are measured.
   - Linux console: italic, underline and faint replace the foreground with green (2), cyan (6)
     and dark grey (8); reverse swaps the low three bits of the two colours (the bright bits stay
     where they were); bold or a bright colour (90-97) brightens the foreground; a bright
     background (100-107) is shown as its dark one (the bit means blink there).
   - "default" is xterm's black on white, and the console's grey (7) on black.
3. The WCAG 2 contrast ratio of the two relative luminances (sRGB, (L1 + 0.05) / (L2 + 0.05)).
   Text (anything not a space and not a line-drawing or block character) needs 4.5:1 (AA);
   line-drawing and block characters (borders, the edges of fields and buttons, scroll bars) are
   parts of controls and need 3:1 (WCAG 1.4.11).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.style import Style
from textual.app import App

RGB = tuple[int, int, int]

XTERM: list[RGB] = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip
"""xterm's 16 colours (its default resources)."""

LINUX: list[RGB] = [
    (0, 0, 0), (170, 0, 0), (0, 170, 0), (170, 85, 0),
    (0, 0, 170), (170, 0, 170), (0, 170, 170), (170, 170, 170),
    (85, 85, 85), (255, 85, 85), (85, 255, 85), (255, 255, 85),
    (85, 85, 255), (255, 85, 255), (85, 255, 255), (255, 255, 255),
]  # fmt: skip
"""The Linux console's 16 colours (the VGA palette)."""

TEXT_MINIMUM = 4.5
DRAWING_MINIMUM = 3.0
DEFAULT = -1


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ratio(first: RGB, second: RGB) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def is_drawing(character: str) -> bool:
    """Box-drawing and block characters: borders and edges, not text."""
    return "\u2500" <= character <= "\u259f"


def colour_number(colour: RichColor | None, system: ColorSystem) -> int:
    """The colour number (0-15) a 16-colour terminal is sent for ``colour``, or DEFAULT."""
    if colour is None or colour.is_default:
        return DEFAULT
    shown = colour.downgrade(system)
    if shown.number is None or shown.number > 15:
        raise AssertionError(f"{colour} reaches the terminal as {shown}: not one of 16 colours")
    return shown.number


@dataclass(frozen=True)
class Cell:
    """One run of characters in one style, where it is on the screen."""

    row: int
    column: int
    text: str
    foreground: int
    background: int
    style: Style


@dataclass(frozen=True)
class Finding:
    """How one run of characters measures with one palette."""

    contrast: float
    palette: str
    cell: Cell
    shown: tuple[RGB, RGB]

    def __str__(self) -> str:
        cell = self.cell
        return (
            f"{self.contrast:.2f}:1 ({self.palette}) at row {cell.row} col {cell.column} "
            f"{cell.text.strip()!r}: colours {cell.foreground} on {cell.background}, "
            f"shown {self.shown[0]} on {self.shown[1]}, style {cell.style}"
        )


def cells(app: App[object]) -> Iterator[Cell]:
    """Every run of visible characters on the app's screen, as the terminal is sent it."""
    system = app.console._color_system or ColorSystem.TRUECOLOR
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    for row, line in enumerate(update.strips):  # type: ignore[union-attr]
        column = 0
        for strip in line:
            for segment in strip:
                text, style = segment.text, segment.style
                if style is not None and text.strip():
                    yield Cell(
                        row,
                        column,
                        text,
                        colour_number(style.color, system),
                        colour_number(style.bgcolor, system),
                        style,
                    )
                column += segment.cell_length


def _xterm(cell: Cell, bold_brightens: bool) -> tuple[RGB, RGB]:
    style = cell.style
    foreground = 0 if cell.foreground == DEFAULT else cell.foreground
    background = 15 if cell.background == DEFAULT else cell.background
    if style.bold and bold_brightens and foreground < 8:
        foreground += 8
    if style.reverse:
        foreground, background = background, foreground
    fg, bg = XTERM[foreground], XTERM[background]
    if style.dim:
        fg = tuple((f + b) // 2 for f, b in zip(fg, bg, strict=True))  # type: ignore[assignment]
    return fg, bg


def _linux(cell: Cell) -> tuple[RGB, RGB]:
    style = cell.style
    foreground = 7 if cell.foreground == DEFAULT else cell.foreground
    background = 0 if cell.background == DEFAULT else cell.background
    # Colours 8-15 reach the console as 90-97 (bold and the dark colour) and 100-107.
    bright = foreground >= 8 or bool(style.bold)
    low = foreground & 7
    if style.italic:
        low = 2
    elif style.underline:
        low = 6
    elif style.dim:
        low, bright = 0, True  # dark grey
    if style.reverse:
        low, background = background & 7, low
    return LINUX[low | (8 if bright else 0)], LINUX[background & 7]


def measure(cell: Cell) -> list[Finding]:
    """The contrast of ``cell`` on each palette (xterm twice: bold brightening or not)."""
    found = []
    for palette, shown in (
        ("xterm", _xterm(cell, bold_brightens=False)),
        ("xterm bold-bright", _xterm(cell, bold_brightens=True)),
        ("linux", _linux(cell)),
    ):
        found.append(Finding(ratio(*shown), palette, cell, shown))
    return found


def minimum_for(cell: Cell) -> float:
    """What ``cell`` needs: 3:1 for line drawing only, 4.5:1 when it holds any text."""
    return DRAWING_MINIMUM if all(is_drawing(c) or c.isspace() for c in cell.text) else TEXT_MINIMUM


def too_low(app: App[object]) -> list[Finding]:
    """Every measurement on the app's screen below what it needs."""
    return [
        finding
        for cell in cells(app)
        for finding in measure(cell)
        if finding.contrast < minimum_for(cell)
    ]


def lowest(app: App[object]) -> dict[str, Finding]:
    """The lowest text contrast on the screen per palette ("xterm", "linux")."""
    result: dict[str, Finding] = {}
    for cell in cells(app):
        if minimum_for(cell) != TEXT_MINIMUM:
            continue
        for finding in measure(cell):
            name = finding.palette.split()[0]
            if name not in result or finding.contrast < result[name].contrast:
                result[name] = finding
    return result
