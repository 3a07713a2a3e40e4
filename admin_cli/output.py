"""What the admin commands give back: result lines, problem lines, progress, and exit codes.

Results go to stdout, progress and problems to stderr, so a script can pipe the results and still
see what went wrong. The exit code is 0 on success, 1 when the command ran but something failed (bad
rows, failed users, a refused command), 2 when it could not run at all.

Names, addresses and reasons come from the database, where anybody who could add a user could have
put escape sequences in them (a terminal title, a clear-screen, a hidden hyperlink) or a newline
that looks like another record. Every line printed here goes through :func:`shown`
(:func:`mfa.text.shown`, the one escaping mfa-tui uses), which writes control and format characters
out visibly, so one record is one line and the terminal only ever receives text. ``--format csv``
and ``--format json`` carry the raw values, encoded by the csv and json writers.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from mfa.text import whole_line
from mfa.wording import count_words

if TYPE_CHECKING:
    from mfa.mfa_process import JobProgress

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2

BAR_WIDTH = 30


shown = whole_line
"""``value`` whole and safe for one line of a terminal (:func:`mfa.text.whole_line`)."""


count = count_words
"""A number of users as the screens write it: ``300,001`` (``mfa.wording.count_words``)."""


def out(text: str) -> None:
    """One result line on stdout, flushed at once (a script may read it while the command runs).

    The line is made safe with :func:`shown`: it may hold a name or an address from the database.
    """
    print(shown(text), file=sys.stdout, flush=True)


def out_row(fields: list[str]) -> None:
    """One tab-separated row of a table on stdout, each field made safe (so tabs stay separators)."""
    print("\t".join(shown(field) for field in fields), file=sys.stdout, flush=True)


def err(text: str) -> None:
    """One progress or problem line on stderr, made safe with :func:`shown`."""
    print(shown(text), file=sys.stderr, flush=True)


class ProgressPrinter:
    """Shows a job's progress on a stream: a redrawn bar on a terminal, a line per 10 % otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.is_terminal = self.stream.isatty()
        self._printed_tenths = -1
        self._bar_open = False

    def __call__(self, progress: JobProgress) -> None:
        counts = (
            f"{count(progress.processed)}/{count(progress.total)} users"
            f" ({count(progress.succeeded)} succeeded, {count(progress.failed)} failed)"
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
