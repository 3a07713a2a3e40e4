"""The contrast of what the installed app really writes to a 16-colour terminal (``TERM=linux``).

The Pilot tests (tests/tui/test_sixteen_colours.py) measure what the app renders; this one reads
the escape codes that reached a real pty, as the terminal keeps them (pyte: colour numbers, bold,
reverse, italic, underline per cell), and measures each character with the same rules
(tests/tui/contrast.py) on xterm's palette and the Linux console's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.style import Style

from tests.e2e.terminal import ADMIN_EMAIL, ADMIN_PASSWORD, Terminal, demo_env, sign_in, start_demo
from tests.tui import contrast

pytestmark = pytest.mark.e2e

_NAMES = ["black", "red", "green", "brown", "blue", "magenta", "cyan", "white"]
NUMBERS = {
    "default": contrast.DEFAULT,
    **{name: number for number, name in enumerate(_NAMES)},
    **{f"bright{name}": number + 8 for number, name in enumerate(_NAMES)},
    "bfightmagenta": 13,  # pyte's spelling of background 105
}


def screen_cells(terminal: Terminal) -> list[contrast.Cell]:
    """Every character on the pty's screen that isn't a space, as a one-character Cell."""
    found = []
    for row, line in terminal.screen.buffer.items():
        for column, char in line.items():
            if not char.data.strip():
                continue
            style = Style(
                bold=char.bold,
                italic=char.italics,
                underline=char.underscore,
                reverse=char.reverse,
            )
            found.append(
                contrast.Cell(row, column, char.data, NUMBERS[char.fg], NUMBERS[char.bg], style)
            )
    return found


def too_low(terminal: Terminal) -> list[str]:
    return [
        str(finding)
        for cell in screen_cells(terminal)
        for finding in contrast.measure(cell)
        if finding.contrast < contrast.minimum_for(cell)
    ]


def test_what_reaches_a_linux_console_reads_at_4_5_to_1(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path, env=demo_env(tmp_path, TERM="linux"))
    try:
        terminal.pause(0.3)
        assert screen_cells(terminal)
        assert not too_low(terminal), "\n".join(too_low(terminal)[:20])
        sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
        terminal.pause(0.3)
        assert not too_low(terminal), "\n".join(too_low(terminal)[:20])
        terminal.press("p")  # General Preferences
        terminal.wait_for("Multi-factor Authentication (MFA)")
        terminal.pause(0.3)
        assert not too_low(terminal), "\n".join(too_low(terminal)[:20])
    finally:
        status = terminal.close()
    assert status == 0
