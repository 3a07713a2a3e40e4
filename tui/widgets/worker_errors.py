"""One way for a screen (or widget) to tell the person that its background work failed.

Workers run with ``exit_on_error=False``, so an unexpected exception (the database went away, a
bug) ends the worker in the ERROR state instead of ending the app. :class:`ReportsWorkerErrors`
handles that state once for every screen: the failed worker's group names the sentence to show
(``WORKER_FAILURES``), the sentence goes to the screen's
:class:`~tui.widgets.message_line.MessageLine` as an error, and
:meth:`ReportsWorkerErrors.worker_failed` lets the screen undo its "busy" state and put the focus
back where the person goes next.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from mfa.wording import clause
from tui.widgets.message_line import MessageLine

TRY_AGAIN = "Try again, or tell your administrator."


class ReportsWorkerErrors:
    """Mixin for a ``Screen`` or ``Widget``: failed workers become an error in its message line."""

    WORKER_FAILURES: ClassVar[dict[str, str]] = {}
    """Worker group -> what the person is told when a worker of that group fails; ``{error}``
    stands for the exception. Workers of other groups are left alone."""
    ERROR_LINE: ClassVar[str] = "MessageLine"
    """The selector of the message line that tells (the first one, unless a screen says)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        template = self.WORKER_FAILURES.get(event.worker.group)
        if template is not None:
            # A message that is a sentence already loses its full stop inside the template's.
            error = clause(str(event.worker.error))
            self.worker_failed(event.worker.group, template.format(error=error))

    def worker_failed(self, group: str, text: str) -> None:
        """Show ``text`` in the message line. Screens extend this to undo what was in progress."""
        cast(DOMNode, self).query_one(self.ERROR_LINE, MessageLine).error(text)
