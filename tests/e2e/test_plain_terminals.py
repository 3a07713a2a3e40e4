"""The demo stays usable in plainer terminals: ``NO_COLOR=1`` (monochrome) and ``TERM=linux``
(16 colours), as technicians meet it over SSH on a kiosk host.

In each: the sign-in screen is drawn, a person can tell which field has the focus and move it,
signing in works, and Ctrl+Q ends the program with exit status 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.terminal import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Terminal,
    demo_env,
    sign_in,
    start_demo,
)

pytestmark = pytest.mark.e2e

SIXTEEN_COLOURS = {
    "default",
    *(
        f"{bright}{name}"
        for bright in ("", "bright")
        for name in ("black", "red", "green", "brown", "yellow", "blue", "magenta", "cyan", "white")
    ),
}
"""How pyte names the colours of a 16-colour terminal."""
HEX = re.compile(r"[0-9a-f]{6}")


def is_grey(colour: str) -> bool:
    if colour == "default" or not HEX.fullmatch(colour):
        return colour in ("default", "black", "white", "brightblack", "brightwhite")
    return colour[0:2] == colour[2:4] == colour[4:6]


def field_edge(terminal: Terminal, label: str) -> tuple[str, str, str, bool, bool]:
    """How the left edge of the sign-in field under ``label`` is drawn (it shows the focus)."""
    lines = terminal.text().splitlines()
    row = next(number for number, line in enumerate(lines) if f"│ {label}" in line) + 2
    column = lines[row].index("│") + 2
    return terminal.look_at(row, column)


@pytest.mark.parametrize(
    ("settings", "colours_allowed"),
    [
        pytest.param({"NO_COLOR": "1"}, is_grey, id="NO_COLOR"),
        pytest.param({"TERM": "linux"}, SIXTEEN_COLOURS.__contains__, id="TERM=linux"),
    ],
)
def test_the_demo_is_usable_in_a_plain_terminal(
    tmp_path: Path, settings: dict[str, str], colours_allowed: Callable[[str], bool]
) -> None:
    terminal = start_demo(tmp_path, env=demo_env(tmp_path, **settings))
    try:
        screen = terminal.text()
        assert "Password" in screen and "Sign In" in screen
        assert ADMIN_EMAIL in screen  # the demo's accounts, beside the form
        assert all(colours_allowed(colour) for colour in terminal.colours()), terminal.colours()

        # The focus can be seen without colour: the focused field's edge has another shape
        # (a double line, where the others have a single one).
        email_focused = field_edge(terminal, "Email address")
        password_blurred = field_edge(terminal, "Password")
        assert (email_focused[0], password_blurred[0]) == ("║", "│")
        terminal.press("tab")
        terminal.wait_until(
            lambda _text: field_edge(terminal, "Password") == email_focused,
            "the focus moving to the password field",
        )
        assert field_edge(terminal, "Email address") == password_blurred
        terminal.press("shift+tab")
        terminal.wait_until(
            lambda _text: field_edge(terminal, "Email address") == email_focused,
            "the focus moving back to the email field",
        )

        home = sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert "Avery Admin" in home
        assert "Settings > General Preferences" in home
    finally:
        status = terminal.close()
    assert status == 0
