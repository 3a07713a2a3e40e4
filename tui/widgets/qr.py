"""A QR code drawn in the terminal, for a phone's authenticator app to scan.

The drawing comes from ``mfa.qr_text``: half blocks, two modules per cell, the glyphs being the
light modules. This widget paints every cell **white on black**, explicitly (``#ffffff`` on
``#000000``), whatever the theme, so the code is dark on light:

- in true colour and 256 colours it is exactly that;
- at 16 colours the two become ANSI bright white and black;
- with ``NO_COLOR`` Textual turns colours to greys, and white and black stay white and black; a
  terminal drawing with no colour at all still shows the glyphs in its foreground colour, which on
  the usual dark background is the code the right way round (on a light background it comes out
  inverted, which phone cameras read but some apps don't: the key below the code is the way out).

Reverse video was the other choice; it draws the same cells in monochrome but nothing better with
colour, so explicit colours it is.

The quiet zone is the standard's 4 modules when the space the widget is given allows, else down
to 1 (``mfa.qr_text.quiet_zone_for``). When not even that fits, the widget says how much room it
needs instead of drawing a code no phone could read.
"""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from mfa import qr_text

QR_STYLE = Style(color=Color.from_rgb(255, 255, 255), bgcolor=Color.from_rgb(0, 0, 0))
"""Glyphs (light modules) white, background (dark modules) black."""


class QrCode(Widget):
    """Draws ``text`` (an ``otpauth://`` URI) as a QR code a phone can scan.

    Give it ``width: auto; height: auto`` (the default) and it takes the size of the code.
    """

    DEFAULT_CSS = """
    QrCode {
        width: auto;
        height: auto;
    }
    """

    text: reactive[str] = reactive("", layout=True)
    """What the code holds; the URI contains the secret, so it is never shown as text."""

    def __init__(
        self,
        text: str = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._matrix: qr_text.Matrix = ()
        self.set_reactive(QrCode.text, text)
        self._matrix = qr_text.qr_matrix(text) if text else ()

    def watch_text(self, text: str) -> None:
        self._matrix = qr_text.qr_matrix(text) if text else ()

    @property
    def modules(self) -> int:
        """Modules per side of the code (0 when there is nothing to draw)."""
        return len(self._matrix)

    def _quiet_zone(self, room: Size) -> int | None:
        return qr_text.quiet_zone_for(self.modules, room.width, room.height)

    def _too_small(self) -> Text:
        columns, lines = qr_text.drawn_size(self.modules, qr_text.MIN_QUIET_ZONE)
        return Text(
            f"The QR code needs {columns}x{lines} characters: make the window larger, or type "
            "the key into your app."
        )

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if not self._matrix:
            return 0
        quiet_zone = self._quiet_zone(container)
        if quiet_zone is None:
            return container.width
        return qr_text.drawn_size(self.modules, quiet_zone)[0]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self._matrix:
            return 0
        quiet_zone = self._quiet_zone(container)
        if quiet_zone is None:
            return len(self._too_small().wrap(self.app.console, max(1, width)))
        return qr_text.drawn_size(self.modules, quiet_zone)[1]

    def render(self) -> Text:
        if not self._matrix:
            return Text()
        quiet_zone = self._quiet_zone(self.content_size)
        if quiet_zone is None:
            return self._too_small()
        lines = qr_text.half_block_lines(self._matrix, quiet_zone)
        return Text("\n".join(lines), style=QR_STYLE, no_wrap=True, overflow="crop")
