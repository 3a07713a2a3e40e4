"""What the admin commands give back: result lines, problem lines, progress, and exit codes.

Results go to stdout, progress and problems to stderr, so a script can pipe the results and still
see what went wrong. The exit code is 0 on success, 1 when the command ran but something failed (bad
rows, failed users, a refused command), 2 when it could not run at all.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from mfa.mfa_process import JobProgress

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2

BAR_WIDTH = 30


def printable(value: str) -> str:
    """Stored text made safe for a terminal: control characters written out (``^[`` for ESC,
    ``<U+009B>`` for C1), invisible formatting (bidi overrides, zero-width) as U+FFFD.

    The same rule as the screens' ``tui.literal.printable``; the admin commands can't import
    ``tui``, so it is written again here.
    """
    if value.isprintable():
        return value
    parts = []
    for character in value:
        category = unicodedata.category(character)
        code = ord(character)
        if category == "Cc":
            if code < 0x20:
                parts.append("^" + chr(code + 0x40))
            elif code == 0x7F:
                parts.append("^?")
            else:
                parts.append(f"<U+{code:04X}>")
        elif category in ("Cf", "Cs", "Zl", "Zp"):
            parts.append("\ufffd")
        else:
            parts.append(character)
    return "".join(parts)


def out(text: str) -> None:
    """One result line on stdout, flushed at once (a script may read it while the command runs)."""
    print(text, file=sys.stdout, flush=True)


def err(text: str) -> None:
    """One progress or problem line on stderr."""
    print(text, file=sys.stderr, flush=True)


class ProgressPrinter:
    """Shows a job's progress on a stream: a redrawn bar on a terminal, a line per 10 % otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.is_terminal = self.stream.isatty()
        self._printed_tenths = -1
        self._bar_open = False

    def __call__(self, progress: JobProgress) -> None:
        counts = (
            f"{progress.processed:,}/{progress.total:,} users"
            f" ({progress.succeeded:,} succeeded, {progress.failed:,} failed)"
        )
        percent = 100 * progress.processed // progress.total if progress.total else 100
        if self.is_terminal:
            filled = BAR_WIDTH * percent // 100
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\rMFA settings processing [{bar}] {percent:3d}%  {counts}")
            self._bar_open = True
            if progress.is_complete:
                self.finish()
        else:
            tenths = percent // 10
            if tenths > self._printed_tenths:
                self._printed_tenths = tenths
                self.stream.write(f"MFA settings processing: {percent}%, {counts}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End a drawn bar with a newline, so the next line starts on its own."""
        if self._bar_open:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_open = False
