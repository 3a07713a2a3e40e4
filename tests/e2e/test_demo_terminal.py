"""The installed ``mfa-tui --demo`` in a real pseudo-terminal, as a person meets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import terminal as e2e
from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    # The demo never uses the configured database: its file is in the account's data directory,
    # so that directory (and the configuration's) must be the temporary folder, or the test would
    # reset the demo of the person running it.
    return e2e.demo_env(tmp_path)


@pytest.fixture(autouse=True)
def the_demo_keeps_its_files_in_the_temporary_folder(demo_env: dict[str, str]):  # type: ignore[no-untyped-def]
    yield
    assert e2e.demo_database(Path(demo_env["XDG_DATA_HOME"]) / "mfa-tui").exists()


def test_the_demo_opens_on_the_sign_in_screen_with_the_demo_accounts(
    demo_env: dict[str, str],
) -> None:
    terminal = Terminal("--demo", "--reset", env=demo_env)
    try:
        screen = terminal.wait_for("Sign In")
        assert "Email address" in screen
        assert "admin@acme-logistics.com" in screen
    finally:
        assert terminal.close() == 1  # Ctrl+Q with nobody signed in (docs/configuration.md)
