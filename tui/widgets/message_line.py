"""The message line: what just happened, in one place on a screen (a notice, an error, a success).

Every screen that reports an outcome has one :class:`MessageLine`. It shows its text literally
(messages often quote what a person typed or what the database holds) and carries its severity as
one CSS class (``-notice``, ``-error``, ``-success``); an empty line has ``-empty``. That an
empty line takes no room is decided in ``screens.tcss``; how each severity looks, in the ``.tcss``
of the screen that shows the line.
"""

from __future__ import annotations

from typing import Literal

from textual.widgets import Static

from tui.literal import literal

Severity = Literal["notice", "error", "success"]
SEVERITIES: tuple[Severity, ...] = ("notice", "error", "success")


class MessageLine(Static):
    """A status or error line; see the module docstring."""

    def __init__(
        self,
        text: str = "",
        severity: Severity = "notice",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(literal(text), id=id, classes=classes)
        self._set_classes(text, severity)

    @property
    def severity(self) -> Severity:
        """How the line is shown: ``notice``, ``error`` or ``success``."""
        return next((name for name in SEVERITIES if self.has_class(f"-{name}")), "notice")

    def show(self, text: str, severity: Severity = "notice") -> None:
        """Show ``text`` literally as a ``severity`` message (an empty text clears the line)."""
        self.update(literal(text))
        self._set_classes(text, severity)

    def error(self, text: str) -> None:
        """Show ``text`` as an error."""
        self.show(text, "error")

    def success(self, text: str) -> None:
        """Show ``text`` as a success."""
        self.show(text, "success")

    def clear(self) -> None:
        """Show nothing (the line takes no room)."""
        self.show("")

    def _set_classes(self, text: str, severity: Severity) -> None:
        for name in SEVERITIES:
            self.set_class(name == severity, f"-{name}")
        self.set_class(not text, "-empty")
