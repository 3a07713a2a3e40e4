"""Shared fixtures: a real SQLite file per test, a movable clock, services around them."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mfa.clock import ManualClock
from mfa.config import Config, SecurityConfig
from mfa.services import Services, open_services
from tests.smtp_server import SmtpSink

# Cheap argon2 parameters keep the suite fast; tests of the real defaults build their own config.
FAST_SECURITY = SecurityConfig(argon2_memory_kib=1024, argon2_time_cost=1)

SHARED_DIRECTORY = "MFA_TUI_TESTS_SHARED_DIRECTORY"
"""Names a directory under /tmp that every test process of one run shares (the SSH kiosk tests
build their installation there once). The process that starts the run chooses it before any
worker process starts (they inherit it) and removes it when the run ends."""


def _starts_the_run(config: pytest.Config) -> bool:
    """Whether this is the process that started pytest (not one of pytest-xdist's workers)."""
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _starts_the_run(config):
        os.environ[SHARED_DIRECTORY] = f"/tmp/mfa-tui-tests-{secrets.token_hex(6)}"


RUN_FIRST = (
    "tests/e2e/",
    "tests/e2e/test_ssh_kiosk.py",
    "tests/mfa/test_mfa_process_kill.py",
    "tests/tui/",
    "tests/admin_cli/",
)
"""The slowest tests first, so that with several test processes (``-n``, which hands tests out in
this order) none is left running a long one at the end: the journeys in a real terminal (they
mostly wait for the program), the SSH kiosk tests once their installation has had time to build,
the MFA process killed and resumed, then the Pilot tests and the admin commands (a process each).
Everything else comes after."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        ranks = [number for number, prefix in enumerate(RUN_FIRST) if path.startswith(prefix)]
        return ranks[-1] if ranks else len(RUN_FIRST)

    items.sort(key=rank)  # stable: each file's tests stay together and in their order


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _starts_the_run(session.config) and (shared := os.environ.pop(SHARED_DIRECTORY, "")):
        shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mfa.db"


@pytest.fixture
def config(tmp_path: Path, db_path: Path) -> Config:
    base = Config(security=FAST_SECURITY)
    return base.with_database(db_path).replace("security", key_file=str(tmp_path / "mfa.key"))


@pytest.fixture
async def services(config: Config, clock: ManualClock) -> AsyncIterator[Services]:
    opened = await open_services(config, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives (``sink.messages``)."""
    async with SmtpSink() as running:
        yield running
