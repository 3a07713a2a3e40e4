"""The MFA process, run by the App so it outlives the screen that started it.

The App holds one :class:`MfaJobRunner`. A screen asks it to follow a job (run it, resume it, or
watch another process run it) and subscribes to its progress; the runner turns every
:class:`~mfa.mfa_process.JobProgress` into an :class:`MfaProcessUpdated` message posted to each
subscriber. Popping the screen cancels nothing: the worker belongs to the App, and a screen opened
later subscribes again and reads the latest progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from mfa import mfa_process
from mfa.mfa_process import JobProgress

if TYPE_CHECKING:
    from textual.app import App

    from mfa.services import Services

WORKER_GROUP = "mfa-process"


@dataclass
class MfaProcessUpdated(Message):
    """A job made progress (or completed). A newer one for the same job replaces a pending one."""

    progress: JobProgress

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, MfaProcessUpdated)
            and message.progress.job_id == self.progress.job_id
        )


@dataclass
class MfaProcessStopped(Message):
    """Following a job failed (the database went away, ...); ``reason`` says why."""

    job_id: int
    reason: str


class MfaJobRunner:
    """Follows MFA process jobs in App-level workers and tells subscribed screens how they go."""

    def __init__(self, app: App[object], services: Services) -> None:
        self._app = app
        self._services = services
        self._latest: dict[int, JobProgress] = {}
        self._workers: dict[int, Worker[JobProgress]] = {}
        self._subscribers: list[MessagePump] = []

    def follow(self, job_id: int) -> None:
        """Run the job, resume it if its process stopped, or watch the process running it."""
        if self.is_following(job_id):
            return
        self._workers[job_id] = self._app.run_worker(
            self._follow(job_id),
            name=f"mfa-process-{job_id}",
            group=WORKER_GROUP,
            exclusive=True,
            exit_on_error=False,
        )

    def is_following(self, job_id: int) -> bool:
        worker = self._workers.get(job_id)
        return worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def latest(self, job_id: int) -> JobProgress | None:
        """The last progress seen of the job in this session, if it was followed."""
        return self._latest.get(job_id)

    def subscribe(self, subscriber: MessagePump) -> None:
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: MessagePump) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def _publish(self, message: Message) -> None:
        for subscriber in list(self._subscribers):
            subscriber.post_message(message)

    def _progressed(self, progress: JobProgress) -> None:
        self._latest[progress.job_id] = progress
        self._publish(MfaProcessUpdated(progress))

    async def _follow(self, job_id: int) -> JobProgress:
        try:
            return await mfa_process.follow(self._services, job_id, on_progress=self._progressed)
        except Exception as error:
            self._publish(MfaProcessStopped(job_id, str(error) or type(error).__name__))
            raise
