"""Kiosk technicians over a real OpenSSH server, on a host set up by following docs/ssh-kiosk.md.

Layout (b): an admin and two technicians, each their own Unix account in one group, land in mfa-tui
through ``ForceCommand``. The admin turns MFA on; each technician sets up email (the code read from
the test's aiosmtpd), signs out and signs in again with a code; the second does it while the first
is still connected. The files they created together belong to the group, and to no one else.
Layout (a): two people reach the one service account with their own keys and sign in as
themselves in mfa-tui.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.sshd import (
    Installation,
    KioskHost,
    Person,
    kiosk_host,
    processes_of,
    run,
    type_credentials,
    unavailable,
    wait_for_code,
)
from tests.e2e.terminal import Terminal, begin_mfa_process, open_general_preferences, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable())]

ADMIN_EMAIL = "admin@acme-logistics.com"  # made by the guide's `admin init`


@pytest.fixture(scope="module")
def installation() -> Iterator[Installation]:
    built = Installation.build()
    try:
        yield built
    finally:
        built.remove()


def admin_turns_mfa_on(host: KioskHost, admin: Person) -> None:
    terminal = host.connect(admin)
    try:
        type_credentials(terminal, admin.email)
        terminal.wait_for("Signed in as")
        open_general_preferences(terminal)
        begin_mfa_process(terminal)
        terminal.press("escape")
        terminal.wait_for("Signed in as")
        sign_out(terminal)
    finally:
        assert terminal.close() == 0


def sets_up_email_then_signs_in_with_a_code(
    host: KioskHost, person: Person, seen: set[str]
) -> Terminal:
    """The person's first sign-in sets up email; signed out, they sign in with a code.

    Returns the terminal, signed in, for the caller to close.
    """
    terminal = host.connect(person)
    type_credentials(terminal, person.email)
    terminal.wait_for("Select the Setup button")
    terminal.press("enter")  # Setup, on the Email card
    terminal.wait_for("Send me the code")
    terminal.press("enter")
    terminal.wait_for("We sent a code to")
    terminal.type(wait_for_code(host.sink, person.email, seen))
    terminal.press("enter")  # Verify
    terminal.wait_for("Multi-factor authentication is set up.")
    terminal.press("enter")  # Continue
    home = terminal.wait_for("Signed in as")
    assert person.name in home
    sign_out(terminal)

    type_credentials(terminal, person.email)
    terminal.wait_for("We sent a code to")
    terminal.type(wait_for_code(host.sink, person.email, seen))
    terminal.press("enter")
    home = terminal.wait_for("Signed in as")
    assert person.name in home
    return terminal


def mode_group(path: Path) -> tuple[int, str]:
    import grp

    status = path.stat()
    return stat.S_IMODE(status.st_mode), grp.getgrgid(status.st_gid).gr_name


def test_layout_b_technicians_as_their_own_unix_accounts(installation: Installation) -> None:
    with kiosk_host("b", installation) as host:
        admin = host.add_person("admin", ADMIN_EMAIL, "Site Admin")
        first = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        second = host.add_person("user", "sam.okafor@acme-logistics.com", "Sam Okafor")
        seen: set[str] = set()

        # `admin init`, run as root, left files the group can use.
        assert mode_group(host.data) == (0o2770, host.group)
        assert mode_group(host.data / "mfa.db") == (0o660, host.group)

        admin_turns_mfa_on(host, admin)
        one = sets_up_email_then_signs_in_with_a_code(host, first, seen)
        try:
            # The first technician is still connected: the database is open in two accounts.
            two = sets_up_email_then_signs_in_with_a_code(host, second, seen)
            try:
                key = host.data / "secret.key"
                assert key.stat().st_uid != 0  # a technician created it; everyone read it
                assert mode_group(key) == (0o640, host.group)
                for suffix in ("", "-wal", "-shm"):
                    assert mode_group(Path(f"{host.data / 'mfa.db'}{suffix}")) == (
                        0o660,
                        host.group,
                    ), suffix
                # The host check, run on the installed Python, finds nothing wrong with it.
                lines = host_check(host)
                assert any(line.startswith("ok     The key file") for line in lines), lines
                assert [line for line in lines if line.startswith("error")] == []
            finally:
                assert two.close() == 0
        finally:
            assert one.close() == 0
        for person in (admin, first, second):
            assert wait_until_none(person.unix_name), f"{person.unix_name} left processes"


def test_layout_a_one_service_account_two_people(installation: Installation) -> None:
    with kiosk_host("a", installation) as host:
        admin = host.add_person("admin", ADMIN_EMAIL, "Site Admin")
        person = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        assert admin.unix_name == person.unix_name == host.service
        assert stat.S_IMODE((host.data / "mfa.db").stat().st_mode) == 0o600

        admin_turns_mfa_on(host, admin)
        terminal = sets_up_email_then_signs_in_with_a_code(host, person, set())
        assert terminal.close() == 0
        assert stat.S_IMODE((host.data / "secret.key").stat().st_mode) == 0o600
        assert wait_until_none(host.service), "the service account left processes"


def host_check(host: KioskHost) -> list[str]:
    """``check_host`` run as root by the installation's own Python: one line per finding."""
    script = (
        "import asyncio, sys\n"
        "from mfa.config import load_config\n"
        "from mfa.hostcheck import check_host, finding_line\n"
        "findings = asyncio.run(check_host(load_config(sys.argv[1])))\n"
        "print('\\n'.join(finding_line(f) for f in findings))\n"
    )
    python = host.installation.prefix / ".venv" / "bin" / "python"
    return run([str(python), "-c", script, str(host.config_file)]).splitlines()


def wait_until_none(unix_name: str, timeout: float = 5) -> bool:
    """Whether the account's processes are all gone within ``timeout`` after quitting."""
    deadline = time.monotonic() + timeout
    while processes_of(unix_name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# Journeys that come with the gate (a product command after MFA) and the refusal of sessions with
# no terminal belong here once mfa-tui has them: each technician launches a product and is back on
# home when it exits; `ssh -T` and `ssh host cmd` are refused with one line and leave no process.
