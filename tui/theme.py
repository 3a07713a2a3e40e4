"""Colours that read in every terminal: the full-colour look, 16 colours, and NO_COLOR.

Textual draws in 24-bit colour and lets Rich turn each colour into the nearest of the terminal's
16 when that is all the terminal has (``TERM=linux``, ``TERM=xterm`` over SSH): Rich's
``Color.downgrade`` picks the nearest entry of its own idea of the 16 colours, so two shades chosen
to contrast can land on the same colour, or on colours that contrast 1:1 (bright red on grey for
the footer keys, black on black for fields without the focus).

So a terminal with 16 colours gets a theme made only of those colours (:data:`SIXTEEN_THEME`, run
with ``ansi_color=True``: Textual then sends the colour numbers as they are), chosen to read at
4.5:1 or more with both xterm's palette and the Linux console's, on a black background set
everywhere (never the terminal's default, which may be white). colours.tcss adds the rules that
need more than a variable (under ``:ansi``): fields drawn with line characters every console font
has, and the focus shown by the shape of the border (double) and reverse video, not colour alone.

With ``NO_COLOR`` the same rules apply and Textual strips every colour (its ``NoColor`` filter,
chosen because the app runs with ``ansi_color=True``): text is the terminal's own colours, and
fields and the focus still show by their borders and reverse video.

A terminal with 256 colours or more keeps the full-colour look.
"""

from __future__ import annotations

import io
import os
from typing import Literal

from rich.console import Console
from textual import constants
from textual.app import App
from textual.content import Content
from textual.theme import Theme

SIXTEEN_THEME = "mfa-16"

ColourMode = Literal["full", "16", "none"]

_FEW_COLOURS = ("standard", "windows")
"""Rich's names of the colour systems with 16 colours."""

# Every colour below is a colour number; the figures are its contrast on black (0) with xterm's
# palette / the Linux console's. Blue, red, magenta and brown/yellow (4, 1, 5, 3) are under 4.5:1
# on black in at least one of them, so text never uses them; blue is a background only.
SIXTEEN = Theme(
    name=SIXTEEN_THEME,
    ansi=True,
    dark=True,
    primary="ansi_cyan",  # 10.6 / 7.3
    secondary="ansi_bright_cyan",  # 16.7 / 16.7
    accent="ansi_bright_yellow",  # 19.6 / 19.1
    warning="ansi_bright_yellow",
    error="ansi_bright_red",  # 5.3 / 6.7
    success="ansi_bright_green",  # 15.3 / 15.7
    foreground="ansi_white",  # 16.6 / 9.0
    background="ansi_black",
    surface="ansi_black",
    panel="ansi_black",
    boost="ansi_black",
    variables={
        "text": "ansi_white",
        "text-muted": "ansi_white",
        "text-disabled": "ansi_white",
        "text-primary": "ansi_cyan",
        "text-error": "ansi_bright_red",
        "text-success": "ansi_bright_green",
        "text-warning": "ansi_bright_yellow",
        "text-accent": "ansi_bright_yellow",
        "foreground-muted": "ansi_white",
        "background-muted": "ansi_black",
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "border": "ansi_bright_yellow",
        "border-blurred": "ansi_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_white",
        "block-cursor-text-style": "none",
        "block-cursor-blurred-foreground": "ansi_white",
        "block-cursor-blurred-background": "ansi_black",
        "block-cursor-blurred-text-style": "underline",
        "block-hover-background": "ansi_black",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-cursor-text-style": "none",
        "input-selection-background": "ansi_white",
        "input-selection-foreground": "ansi_black",
        "screen-selection-background": "ansi_white",
        "screen-selection-foreground": "ansi_black",
        "footer-foreground": "ansi_white",
        "footer-background": "ansi_blue",
        "footer-key-foreground": "ansi_bright_yellow",  # on blue: 8.8 / 12.4
        "footer-key-background": "ansi_blue",
        "footer-description-foreground": "ansi_white",  # on blue: 7.4 / 5.7
        "footer-description-background": "ansi_blue",
        "footer-item-background": "ansi_blue",
        "button-foreground": "ansi_white",
        "button-color-foreground": "ansi_white",
        "button-focus-text-style": "reverse",
        "scrollbar": "ansi_white",
        "scrollbar-hover": "ansi_bright_white",
        "scrollbar-active": "ansi_bright_white",
        "scrollbar-background": "ansi_black",
        "scrollbar-background-hover": "ansi_black",
        "scrollbar-background-active": "ansi_black",
        "scrollbar-corner-color": "ansi_black",
        "link-color": "ansi_bright_cyan",
        "link-background": "ansi_black",
        "link-color-hover": "ansi_black",
        "link-background-hover": "ansi_white",
    },
)


def detect_plain_terminal(environ: dict[str, str] | None = None) -> bool:
    """Whether the terminal the app is about to draw in has 16 colours or ``NO_COLOR`` is set.

    Asked before the app exists (it decides ``ansi_color``), the way Textual's own console will
    decide: Rich's detection from ``TERM`` and ``COLORTERM``, or ``TEXTUAL_COLOR_SYSTEM``.
    """
    env = dict(os.environ if environ is None else environ)
    if env.pop("NO_COLOR", None) is not None:
        return True
    console = Console(
        color_system=constants.COLOR_SYSTEM,  # type: ignore[arg-type]
        file=io.StringIO(),
        force_terminal=True,
        legacy_windows=False,
        _environ=env,
    )
    return console.color_system in _FEW_COLOURS


def colour_mode(app: App[object]) -> ColourMode:
    """How ``app`` draws: the full-colour look, 16 colours, or no colour (``NO_COLOR``)."""
    if app.no_color:
        return "none"
    if app.native_ansi_color and app.console.color_system in _FEW_COLOURS:
        return "16"
    return "full"


def use_terminal_colours(app: App[object]) -> None:
    """Give ``app`` the theme its terminal can show (call once, right after ``App.__init__``).

    The app must have been created with ``ansi_color=detect_plain_terminal()``.
    """
    if not app.native_ansi_color:
        return
    app.register_theme(SIXTEEN)
    app.theme = SIXTEEN_THEME


def format_title(app: App[object], title: str, sub_title: str) -> Content:
    """The header's line: Textual's (the sub-title faint), but never faint in 16 colours or
    NO_COLOR, where faint text is dark grey on the Linux console."""
    if not app.native_ansi_color:
        return App.format_title(app, title, sub_title)
    return (
        Content.assemble(Content(title), " — ", Content(sub_title)) if sub_title else Content(title)
    )
