"""The installed ``mfa-tui --demo`` in a real pseudo-terminal, as a person meets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    # The demo keeps its database beside the configured one: point that at a temporary folder.
    return {
        "MFA_TUI__DATABASE__PATH": str(tmp_path / "mfa-tui.db"),
        "MFA_TUI_CONFIG": "",
    }


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
