"""Countdowns to a moment on the app's clock: "Resend code (27 s)", "You can ask for another …".

One countdown in two forms: :class:`Countdown` is a line of words, :class:`CountdownButton` a
button that is disabled until the moment and says on its label how long is left. Both read the time
from the app's ``services.now()`` (a ``ManualClock`` in tests, so every wait is exact), redraw once
a second only while they count, and post :class:`CountdownFinished` when the moment comes; a
countdown that isn't counting is idle and costs nothing. Tests move the clock and call
:meth:`CountingDown.tick` rather than waiting for the second to pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Static

from mfa.wording import countdown_words

if TYPE_CHECKING:
    from tui.app import MfaApp

TICK_SECONDS = 1.0
"""How often a running countdown is brought up to date."""


class CountdownFinished(Message):
    """A countdown reached its moment (not sent when it is stopped or moved)."""

    def __init__(self, countdown: Widget) -> None:
        super().__init__()
        self.countdown = countdown
        """The countdown that finished."""

    @property
    def control(self) -> Widget:
        """The countdown, so ``@on(CountdownFinished, "#id")`` selects by it."""
        return self.countdown


class CountingDown:
    """What both forms share: the moment, the clock, the tick. Subclasses say how it looks.

    A mixin, not a widget: Textual takes a widget's default styles (and type name in CSS) from its
    first widget base, which has to be the ``Static`` or the ``Button``.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._until: float | None = None
        self._timer: Timer | None = None

    @property
    def until(self) -> float | None:
        """The moment counted down to (None: not counting)."""
        return self._until

    @property
    def counting(self) -> bool:
        return self._until is not None

    def _now(self) -> float:
        return cast("MfaApp", cast(Widget, self).app).services.now()

    def count_to(self, until: float | None) -> None:
        """Count down to ``until`` on the app's clock (None: stop; a moment past: finish now)."""
        self._until = until
        self.tick()

    def stop(self) -> None:
        """Stop counting without finishing."""
        self._until = None
        self.tick()

    def tick(self) -> None:
        """Bring the countdown up to date with the clock (the timer calls this every second)."""
        finished = False
        seconds_left: float | None = None
        if self._until is not None:
            seconds_left = self._until - self._now()
            if seconds_left <= 0:
                self._until, seconds_left, finished = None, None, True
        self.show_left(seconds_left)
        widget = cast(Widget, self)
        if self._timer is None and seconds_left is not None and widget.is_attached:
            self._timer = widget.set_interval(TICK_SECONDS, self.tick, name="countdown")
        elif self._timer is not None:
            if seconds_left is None:
                self._timer.pause()
            else:
                self._timer.resume()
        if finished:
            widget.post_message(CountdownFinished(widget))

    def on_mount(self) -> None:
        self.tick()

    def show_left(self, seconds_left: float | None) -> None:
        """Show ``seconds_left`` (None: not counting)."""
        raise NotImplementedError


class Countdown(CountingDown, Static):
    """A line saying how long is left, in words of its own; hidden (``-idle``) when not counting."""

    def __init__(
        self,
        words: Callable[[float], str],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Args:
        words: The line for the seconds left (rounding is theirs to choose).
        """
        super().__init__(id=id, classes=classes)
        self.words = words
        self.add_class("-idle")

    def show_left(self, seconds_left: float | None) -> None:
        self.update("" if seconds_left is None else self.words(seconds_left))
        self.set_class(seconds_left is None, "-idle")


class CountdownButton(CountingDown, Button):
    """A button disabled until its moment, its label counting: ``Resend code (27 s)``.

    It can also be held (disabled for another reason, such as a request running), with a label of
    its own meanwhile; the countdown, when there is one, is what it shows.
    """

    def __init__(self, label: str, *, id: str | None = None, variant: str = "default") -> None:
        super().__init__(label, id=id, variant=variant)  # type: ignore[arg-type]
        self.idle_label = label
        """The label when not counting (``Resend code``)."""
        self._held = False
        self._held_label: str | None = None

    @property
    def held(self) -> bool:
        return self._held

    def set_held(self, held: bool, label: str | None = None) -> None:
        """Hold the button disabled (``held``), showing ``label`` meanwhile if given."""
        self._held = held
        self._held_label = label if held else None
        self.tick()

    def show_left(self, seconds_left: float | None) -> None:
        if seconds_left is not None:
            self.label = f"{self.idle_label} ({countdown_words(seconds_left)})"
            self.disabled = True
        else:
            self.label = self._held_label or self.idle_label
            self.disabled = self._held
