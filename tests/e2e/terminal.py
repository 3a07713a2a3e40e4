"""Drive the installed ``mfa-tui`` in a real pseudo-terminal and read the screen like a person.

pexpect gives the process a pty of a fixed size; pyte plays the bytes it writes into a virtual
80x24 screen, so tests wait for words to appear where a person would see them.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pyte

EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"

KEYS = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "ctrl+q": "\x11",
    "down": "\x1b[B",
    "up": "\x1b[A",
    "space": " ",
    "backspace": "\x7f",
}


class Terminal:
    """One running ``mfa-tui`` in an 80x24 pseudo-terminal."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cols: int = 80, rows: int = 24) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        full_env.update(env or {})
        self.child = pexpect.spawn(EXE, list(args), env=full_env, dimensions=(rows, cols), timeout=5)

    def _pump(self, seconds: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=seconds)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise AssertionError("mfa-tui exited:\n" + self.text()) from None
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, words: str, timeout: float = 20.0) -> str:
        """Wait until ``words`` are on the screen; fail with the screen's text if they never are."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if words in self.text():
                return self.text()
            self._pump(0.1)
        raise AssertionError(f"{words!r} never appeared. The screen:\n{self.text()}")

    def type(self, text: str) -> None:
        self.child.send(text)
        self._pump(0.05)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.child.send(KEYS[key])
            self._pump(0.05)

    def close(self) -> int | None:
        if self.child.isalive():
            self.child.send(KEYS["ctrl+q"])
            try:
                self.child.expect(pexpect.EOF, timeout=10)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self.child.close()
        return self.child.exitstatus
