"""The screens are tested in a full-colour terminal unless a test says otherwise.

The app picks its colours from the terminal it runs in (tui.theme: 16 colours for ``TERM=linux``
or ``TERM=xterm``, none with ``NO_COLOR``); the shell running the tests must not decide what the
snapshots look like. Tests of the other modes set their environment on top of this one.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def full_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("COLORTERM", "NO_COLOR", "FORCE_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)
