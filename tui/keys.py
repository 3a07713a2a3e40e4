"""Keys typed ahead keep their meaning: each one goes to what has the focus once the key before it
has had its effect.

Textual forwards every key from the terminal straight into the focused widget's message queue. A
key that moves the focus (Tab, or Enter in the email field) only does so once it has been handled,
after it has bubbled up to the app's bindings, so keys that arrive in the same read (a fast typist
over a laggy link, a password manager, a barcode scanner) are already queued to the old widget:
``email<Tab>password<Enter>`` typed at once puts the password, in clear, into the email field.

:class:`KeyOrder` makes the app handle keys one at a time. A key that arrives while the app is
still busy with the one before is held; once every message queue on the way (the widget the key
went to, its ancestors, the app, and whatever has the focus now) has been empty for a few turns
of the event loop, the next held key is handed to the app again and goes where the focus is then.
A key that arrives while the app is idle is handled at once, as Textual would: a person typing at a
normal pace sees no change.

Waiting has a limit (:data:`SETTLE_LIMIT_SECONDS`): a key whose handling takes longer (a long
action) only delays the next key by that much; no key is ever dropped or reordered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual import events
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from textual.app import App

SETTLE_LIMIT_SECONDS = 0.5
"""The longest a held key waits for the one before it to take effect."""

QUIET_TURNS = 3
"""Turns of the event loop in a row with every queue empty that count as "the key is done"."""

BUSY_TURNS = 200
"""Turns after which the wait for a slow key stops spinning and looks every 2 ms instead."""

HELD_EVENTS = (events.Key, events.Paste)
"""What the terminal sends that goes to the focused widget (a paste keeps its place too)."""


def _busy(pump: MessagePump) -> bool:
    """Whether ``pump`` has messages waiting."""
    return pump.message_queue_size > 0


class KeyOrder:
    """Holds keys from the terminal until the key before has had its effect (see the module)."""

    def __init__(self, app: App[object]) -> None:
        self._app = app
        self._held: deque[events.Event] = deque()
        self._released: set[int] = set()
        self._targets: list[MessagePump] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def holding(self) -> int:
        """How many keys are waiting for the one before them."""
        return len(self._held)

    def hold(self, event: events.Event) -> bool:
        """Called for every key from the terminal before the app handles it.

        Returns True when the key is held (the caller does nothing more with it now); False when
        the app should handle it now, and then call :meth:`handled`.
        """
        if not isinstance(event, HELD_EVENTS) or event.is_forwarded:
            return False
        if id(event) in self._released:
            self._released.discard(id(event))
            return False
        if self._task is None and not self._held:
            return False
        self._held.append(event)
        self._start()
        return True

    def handled(self, event: events.Event) -> None:
        """The app has just handled ``event`` (passed it on, or ran a binding of its own): the
        next key waits for its effects."""
        if not isinstance(event, HELD_EVENTS):
            return
        self._targets.append(self._app.focused or self._app.screen)
        self._start()

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._release_in_turn())

    async def _release_in_turn(self) -> None:
        try:
            while True:
                await self._settle()
                if not self._held:
                    return
                event = self._held.popleft()
                self._released.add(id(event))
                self._app.post_message(event)
        finally:
            self._task = None
            self._targets.clear()

    def _pumps(self) -> Iterator[MessagePump]:
        """Every queue a key's effects can be waiting in, innermost first."""
        seen: set[int] = set()
        starts = [*self._targets, self._app.focused]
        for start in starts:
            node: MessagePump | None = start
            while node is not None:
                if id(node) not in seen:
                    seen.add(id(node))
                    yield node
                node = node._parent
        if id(self._app) not in seen:
            yield self._app

    async def _settle(self) -> None:
        """Wait until the queues the last key can have left work in are empty (or the limit).

        Textual's queues can't be joined, so they are looked at between turns of the event loop:
        a pump handles one message per turn (its handlers don't wait on anything for a key), so
        a few turns in a row with every queue empty mean the key's effects are all done.
        """
        deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
        quiet = 0
        turns = 0
        while quiet < QUIET_TURNS and time.monotonic() < deadline:
            turns += 1
            # Yield to the loop; after many turns (a long action) stop spinning the CPU.
            await asyncio.sleep(0 if turns < BUSY_TURNS else 0.002)
            quiet = 0 if any(_busy(pump) for pump in self._pumps()) else quiet + 1
