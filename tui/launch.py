"""Launching a product from home: the app steps aside, the product has the terminal, and when it
exits the technician is back on home (in kiosk mode the session, and the program, end with it).

The home screen posts :class:`ProductChosen`; the App hands it to its :class:`ProductLauncher`,
which runs the launch in an App-level worker. What runs, with which environment, and the audit
rows come from :mod:`mfa.products`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported
from textual.message import Message

from mfa import products
from mfa.products import LaunchRefused
from mfa.session import SessionEnd

if TYPE_CHECKING:
    from tui.app import MfaApp

WORKER_GROUP = "product"


@dataclass
class ProductChosen(Message):
    """The person chose a product to open on home."""

    product: str


class ProductLauncher:
    """Runs a product in the app's terminal, one at a time."""

    def __init__(self, app: MfaApp) -> None:
        self._app = app
        self.suspend: Callable[[], AbstractContextManager[None]] = app.suspend
        """Hands the terminal to the product and takes it back (``App.suspend``)."""
        self.environ: Mapping[str, str] = os.environ
        """The environment a product's own is made from."""
        self.running: str | None = None
        """The product running now, if any: the session's time rules wait until it exits."""

    def launch(self, product: str) -> None:
        """Start ``product`` for the signed-in person (nothing happens while one is running)."""
        if self.running is not None:
            return
        self._app.run_worker(
            self._launch(product),
            name=f"product: {product}",
            group=WORKER_GROUP,
            exclusive=True,
            exit_on_error=False,
        )

    async def _launch(self, product: str) -> None:
        app = self._app
        services = app.services
        session = app.session
        if session is None or not session.signed_in:
            return
        try:
            launch = await products.product_launch(services, session, product, self.environ)
        except LaunchRefused as refusal:
            app.notify(str(refusal), severity="error", markup=False)
            return
        await products.record_launch(services, launch)
        self.running = product
        failure: OSError | None = None
        returncode = 0
        try:
            with self.suspend():
                # Everything is caught inside: App.suspend only gives the terminal back to the
                # app when its block ends normally.
                try:
                    returncode = await products.run_in_terminal(launch)
                except OSError as error:
                    failure = error
        except SuspendNotSupported:
            failure = OSError("this terminal can't hand the screen to another program")
        finally:
            self.running = None
        if failure is not None:
            await products.record_failure(services, launch, failure)
            app.notify(products.start_error_words(launch, failure), severity="error", markup=False)
            return
        await products.record_exit(services, launch, returncode)
        if app.session is not session:
            return  # the session ended meanwhile (a hang-up)
        app.record_activity()  # the person was busy in the product, not idle
        if services.config.session.kiosk:
            app.end_session(SessionEnd.PRODUCT_CLOSED)
            return
        app.check_session()  # the absolute limit may have passed while the product ran
        if returncode != 0 and app.session is session:
            app.notify(
                f"{product} ended: {products.exit_words(returncode)}.",
                severity="warning",
                markup=False,
            )
