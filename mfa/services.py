"""The domain's entry point: one object that the TUI and the headless commands both use.

``Services`` bundles the configuration, the open database, the clock and the password hasher.
Screens and admin commands call the domain modules with it; nothing else opens the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mfa.clock import Clock, SystemClock
from mfa.config import Config
from mfa.passwords import Passwords
from store import Database, StoreError, open_database
from store.files import FileAccess

__all__ = ["Services", "StoreError", "open_services"]

if TYPE_CHECKING:
    from mfa.sending import Deliverer


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    passwords: Passwords | None = None
    demo: bool = False
    """Demo mode: message bodies are kept in the outbox so the demo inbox can show them."""
    deliverer: Deliverer | None = None
    """Sends codes by email and SMS; built from ``config`` on first use (``mfa.sending.deliverer_for``)."""

    def __post_init__(self) -> None:
        if self.passwords is None:
            self.passwords = Passwords(self.config.security)

    @property
    def hasher(self) -> Passwords:
        assert self.passwords is not None
        return self.passwords

    def now(self) -> float:
        return self.clock.now()

    async def close(self) -> None:
        await self.db.close()


async def open_services(
    config: Config,
    *,
    clock: Clock | None = None,
    demo: bool = False,
    db_path: str | Path | None = None,
) -> Services:
    """Open the configured database (migrating it) and return the services around it.

    Raises ``StoreError`` (re-exported here for the front ends) when the file can't be used.
    """
    access = FileAccess.for_group(config.host.group)
    db = await open_database(db_path or config.database_path, access=access)
    return Services(config=config, db=db, clock=clock or SystemClock(), demo=demo)
