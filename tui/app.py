"""The Textual application: builds the screens around one ``Services`` object."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from mfa import demo as demo_data
from mfa.config import Config
from mfa.services import Services, open_services
from store import StoreError
from tui.screens.signin import SignInScreen

CSS_FILE = Path(__file__).resolve().parent.parent / "screens.tcss"


class MfaApp(App[None]):
    """mfa-tui: sign-in with multi-factor authentication, and the admin's MFA settings."""

    CSS_PATH = CSS_FILE
    TITLE = "mfa-tui"
    SUB_TITLE = "Sign in"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="quit")]

    def __init__(self, services: Services, *, demo: bool = False) -> None:
        super().__init__()
        self.services = services
        """The domain: configuration, database, clock. Screens call ``mfa`` with it."""
        self.demo = demo
        """True when running on the seeded demo database."""

    def on_mount(self) -> None:
        self.push_screen(SignInScreen())


def create_app(services: Services, *, demo: bool = False) -> MfaApp:
    """Build the app the same way for tests and for the command line."""
    return MfaApp(services, demo=demo)


async def _run(config: Config, demo: bool, reset: bool) -> int:
    db_path = demo_data.demo_database_path(config) if demo else config.database_path
    if demo and reset:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(db_path) + suffix).unlink()
    try:
        services = await open_services(config.with_database(db_path), demo=demo)
    except StoreError as error:
        print(f"mfa-tui: {error}")
        return 2
    try:
        if demo:
            await demo_data.seed(services)
        app = create_app(services, demo=demo)
        await app.run_async()
        return app.return_code or 0
    finally:
        await services.close()


def run_app(config: Config, *, demo: bool = False, reset: bool = False) -> int:
    """Run the terminal UI until the user quits; returns the exit code."""
    return asyncio.run(_run(config, demo, reset))
