"""The QR code widget: what it draws decodes back to the URI (full colour, 16 colours, NO_COLOR, a
terminal's own colours stripped), it fits 80x24 with the key beside it, and a snapshot of it."""

from __future__ import annotations

import pytest
from rich.color import Color, ColorSystem
from rich.segment import Segment
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.filter import NoColor
from textual.geometry import Region
from textual.widgets import Static

from mfa import qr_text, totp
from tests.qr_decode import HALF_BLOCKS, decode
from tui.widgets.qr import QrCode

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"
URI = totp.provisioning_uri(SECRET, account="jordan.lee@example.com", issuer="Acme Logistics")
SIZE = (80, 24)


class QrApp(App[None]):
    """The code at the left, the key and what to do beside it: the layout an 80x24 card can use."""

    CSS = """
    Screen { layout: horizontal; }
    #beside { width: 1fr; padding: 0 1; }
    """

    def __init__(self, uri: str = URI, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.uri = uri

    def compose(self) -> ComposeResult:
        yield QrCode(self.uri)
        with Vertical(id="beside"):
            yield Static(Text("Scan the QR code with your authenticator app, or type this key:"))
            groups = totp.key_groups(SECRET).split(" ")
            yield Static(Text(" ".join(groups[:4]) + "\n" + " ".join(groups[4:])), id="key")
            yield Static(Text("Then enter the 6-digit code the app shows."))


def luminance(color: Color | None, *, default_light: bool, system: ColorSystem | None) -> bool:
    """True when ``color`` is light. None is the terminal's default colour: a dark background
    with a light foreground, the usual terminal."""
    if color is None or color.is_default:
        return default_light
    if system is not None:
        color = color.downgrade(system)
    red, green, blue = color.get_truecolor(DEFAULT_TERMINAL_THEME)
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) > 127


def drawn_pixels(
    segments_per_line: list[list[Segment]], system: ColorSystem | None = None
) -> list[list[bool]]:
    """Two pixel rows per line of cells, from each cell's glyph and colours (True: light)."""
    rows: list[list[bool]] = []
    for segments in segments_per_line:
        upper: list[bool] = []
        lower: list[bool] = []
        for segment in segments:
            style = segment.style
            fg = luminance(style.color if style else None, default_light=True, system=system)
            bg = luminance(style.bgcolor if style else None, default_light=False, system=system)
            if style is not None and style.reverse:
                fg, bg = bg, fg
            for char in segment.text:
                top, bottom = HALF_BLOCKS[char]
                upper.append(fg if top else bg)
                lower.append(fg if bottom else bg)
        rows.extend([upper, lower])
    return rows


async def rendered(app: QrApp) -> list[list[Segment]]:
    """The widget's lines as the app draws them (its line filters, e.g. NO_COLOR's, applied)."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        width, height = widget.size
        strips = widget.render_lines(Region(0, 0, width, height))
        return [list(strip) for strip in strips]


async def test_it_decodes_to_the_uri_in_full_colour() -> None:
    lines = await rendered(QrApp())
    assert decode(drawn_pixels(lines)) == [URI]


async def test_it_decodes_to_the_uri_at_16_colours() -> None:
    lines = await rendered(QrApp())
    assert decode(drawn_pixels(lines, ColorSystem.STANDARD)) == [URI]


async def test_it_decodes_to_the_uri_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = QrApp()
    assert app.no_color
    lines = await rendered(app)
    assert decode(drawn_pixels(lines)) == [URI]
    assert decode(drawn_pixels(lines, ColorSystem.STANDARD)) == [URI]


async def test_it_decodes_with_every_colour_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    # A terminal drawing with its own colours and NO_COLOR: nothing but glyphs and the terminal's
    # default foreground on its default (dark) background.
    monkeypatch.setenv("NO_COLOR", "1")
    app = QrApp(ansi_color=True)
    lines = await rendered(app)
    stripped = [NoColor().apply(line, app.styles.background) for line in lines]
    assert all(
        segment.style is None or segment.style.bgcolor is None or segment.style.bgcolor.is_default
        for line in stripped
        for segment in line
    )
    assert decode(drawn_pixels(stripped)) == [URI]


async def test_it_fits_80x24_beside_the_key() -> None:
    app = QrApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        assert widget.modules == 41  # version 6 for this URI
        # All 24 lines are free here: the widest quiet zone that fits is 3 (47x24); the key's
        # column keeps the other 33.
        assert qr_text.quiet_zone_for(41, 80, 24) == 3
        assert (widget.size.width, widget.size.height) == (47, 24)
        key = app.query_one("#key")
        assert key.region.x >= 47 and key.region.right <= 80


async def test_it_says_how_much_room_it_needs_when_it_cannot_fit() -> None:
    app = QrApp()
    async with app.run_test(size=(60, 14)) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        text = str(widget.render())
        assert "needs 43x22 characters" in text and "type the key" in text


async def test_changing_the_text_redraws() -> None:
    other = totp.provisioning_uri(totp.new_secret(), account="jo@acme.io", issuer="Acme")
    app = QrApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        widget.text = other
        await pilot.pause()
        strips = widget.render_lines(Region(0, 0, *widget.size))
        assert decode(drawn_pixels([list(strip) for strip in strips])) == [other]


def test_snapshot_qr_code_at_80x24(snap_compare) -> None:
    assert snap_compare(QrApp(), terminal_size=SIZE)


def test_snapshot_qr_code_at_80x24_no_color(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same picture as in colour: white and black are their own greys.
    monkeypatch.setenv("NO_COLOR", "1")
    app = QrApp()
    assert app.no_color
    assert snap_compare(app, terminal_size=SIZE)
