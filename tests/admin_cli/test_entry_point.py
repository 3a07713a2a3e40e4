"""``mfa-tui`` reads its command line in two steps: the admin commands load only for ``admin``."""

from __future__ import annotations

import subprocess
import sys

from tests.admin_cli.test_users import EXE


def _loaded_after(argv: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from tui.cli import build_parser\n"
        f"build_parser().parse_args({argv!r})\n"
        "print(' '.join(m for m in ('admin_cli', 'textual', 'argon2') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_starting_the_ui_builds_no_admin_parser() -> None:
    assert _loaded_after(["--demo"]) == set()
    assert _loaded_after(["--db", "x.db", "admin", "users", "list"]) == set()


def test_admin_help_lists_the_commands_and_a_bad_one_is_a_usage_error() -> None:
    listed = subprocess.run([EXE, "admin", "--help"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in ("init", "users", "mfa"))
    wrong = subprocess.run([EXE, "admin", "nonsense"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2
    assert "usage: mfa-tui admin" in wrong.stderr
