"""Kiosk technicians over a real OpenSSH server, on a host set up by following docs/ssh-kiosk.md.

Layout (b): an admin and two technicians, each their own Unix account in one group, land in mfa-tui
through ``ForceCommand``. The admin turns MFA on; each technician sets up email (the code read from
the test's aiosmtpd, which the guide's SMTP password file lets mfa-tui sign in to), signs out,
signs in again with a code, opens the product from home (a script that records its environment)
and is back on home when it exits; the second does it while the first is still connected. The
files they created together belong to the group, and to no one else.

Then what must not work, or must end: ``ssh -T``, ``ssh host command``, scp and sftp are refused in
one line and leave no process; a killed ssh client leaves none within a couple of seconds; the
gate (``mfa-tui gate -- product``) runs the product in place of mfa-tui after MFA, and launches
nothing when the technician quits; in kiosk mode signing out closes the SSH session.

Layout (a): two people reach the one service account with their own keys, sign in as themselves
in mfa-tui, and the technician opens the product.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e.sshd import (
    PASSWORD,
    PRODUCT,
    SMTP_PASSWORD,
    SMTP_USER,
    Installation,
    KioskHost,
    Person,
    command_line,
    kiosk_host,
    processes_of,
    run,
    type_credentials,
    unavailable,
    wait_for_code,
    wait_for_shared_installation,
)
from tests.e2e.terminal import (
    Terminal,
    begin_mfa_process,
    keep_recovery_codes,
    open_general_preferences,
    sign_out,
)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(unavailable()), reason=unavailable())]

ADMIN_EMAIL = "admin@acme-logistics.com"  # made by the guide's `admin init`
SUBSCRIPTION = "Acme Logistics"

GONE_SECONDS = 3.0
"""A refused or dropped connection leaves no process of the account after this long."""


@pytest.fixture(scope="session")
def installation() -> Installation:
    """The guide's installation, one for the whole run (removed by tests/conftest.py at its end);
    tests/e2e/conftest.py starts building it as soon as the tests are collected."""
    return wait_for_shared_installation()


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
        # Ctrl+Q after signing out: nobody is signed in, so the status says so (1).
        assert terminal.close() == 1


def sets_up_email(host: KioskHost, terminal: Terminal, person: Person, seen: set[str]) -> None:
    """From the sign-in screen of a person without a method: set up email with a code."""
    type_credentials(terminal, person.email)
    terminal.wait_for("Select the Setup button")
    terminal.press("enter")  # Setup, on the Email card
    terminal.wait_for("Send me the code")
    terminal.press("enter")
    terminal.wait_for("We sent a code to")
    terminal.write(wait_for_code(host.sink, person.email, seen))
    terminal.press("enter")  # Verify
    keep_recovery_codes(terminal)  # the first method brings recovery codes
    terminal.wait_for("Multi-factor authentication is set up.")
    terminal.press("enter")  # Continue


def signs_in_with_a_code(
    host: KioskHost, terminal: Terminal, person: Person, seen: set[str]
) -> None:
    """From the sign-in screen of a person with email set up: password, then the code."""
    type_credentials(terminal, person.email)
    terminal.wait_for("We sent a code to")
    terminal.write(wait_for_code(host.sink, person.email, seen))
    terminal.press("enter")


def sets_up_email_then_signs_in_with_a_code(
    host: KioskHost, person: Person, seen: set[str]
) -> Terminal:
    """The person's first sign-in sets up email; signed out, they sign in with a code.

    Returns the terminal, signed in, for the caller to close.
    """
    terminal = host.connect(person)
    sets_up_email(host, terminal, person, seen)
    home = terminal.wait_for("Signed in as")
    assert person.name in home
    sign_out(terminal)
    signs_in_with_a_code(host, terminal, person, seen)
    home = terminal.wait_for("Signed in as")
    assert person.name in home
    return terminal


def opens_the_product_and_comes_back(
    host: KioskHost, terminal: Terminal, person: Person, *, role: str = "user"
) -> dict[str, str]:
    """On home: ``1`` opens the product in this terminal; Enter leaves it, and home is back.

    Returns the environment the product was started with.
    """
    before = len(host.launches(person))
    terminal.press("1")
    terminal.wait_for(f"{PRODUCT} for {person.email} (--kiosk)")
    launches = host.launches(person)
    assert len(launches) == before + 1
    environment = launches[-1]
    terminal.press("enter")  # the product reads a line and exits
    home = terminal.wait_for_all("Signed in as", person.name)
    assert f"1 {PRODUCT}" in home
    assert environment["MFA_TUI_USER_EMAIL"] == person.email
    assert environment["MFA_TUI_USER_NAME"] == person.name
    assert environment["MFA_TUI_USER_ROLE"] == role
    assert environment["MFA_TUI_SUBSCRIPTION"] == SUBSCRIPTION
    assert environment["MFA_TUI_PRODUCT"] == PRODUCT
    assert re.fullmatch(r"[0-9a-f]{16}", environment["MFA_TUI_SESSION_ID"])
    secrets_seen(environment)
    return environment


def secrets_seen(environment: dict[str, str]) -> None:
    """A launched program gets no secret: neither the SMTP password nor mfa-tui's settings."""
    assert not any(SMTP_PASSWORD in value for value in environment.values())
    assert not any(PASSWORD in value for value in environment.values())
    assert "MFA_TUI_SMTP_PASSWORD" not in environment
    assert not any(name.startswith("MFA_TUI__") for name in environment)


def mode_group(path: Path) -> tuple[int, str]:
    import grp

    status = path.stat()
    return stat.S_IMODE(status.st_mode), grp.getgrgid(status.st_gid).gr_name


def wait_until_none(unix_name: str, timeout: float = 5) -> bool:
    """Whether the account's processes are all gone within ``timeout``."""
    deadline = time.monotonic() + timeout
    while processes_of(unix_name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def leftovers(unix_name: str) -> list[str]:
    return [command_line(pid) for pid in processes_of(unix_name)]


def admin_check(host: KioskHost) -> tuple[int, list[str]]:
    """``mfa-tui admin check`` as the guide runs it (root, the installed program)."""
    done = subprocess.run(
        [str(host.installation.executable), "--config", str(host.config_file), "admin", "check"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout.splitlines()


# ---- layout (b): the journeys ------------------------------------------------------------------


def test_layout_b_technicians_as_their_own_unix_accounts(installation: Installation) -> None:
    with kiosk_host("b", installation) as host:
        admin = host.add_person("admin", ADMIN_EMAIL, "Site Admin")
        first = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        second = host.add_person("user", "sam.okafor@acme-logistics.com", "Sam Okafor")
        seen: set[str] = set()

        # `admin init`, run as root, left files the group can use.
        assert mode_group(host.data) == (0o2770, host.group)
        assert mode_group(host.data / "mfa.db") == (0o660, host.group)
        assert mode_group(host.etc / "smtp-password") == (0o640, host.group)

        admin_turns_mfa_on(host, admin)
        one = sets_up_email_then_signs_in_with_a_code(host, first, seen)
        try:
            first_launch = opens_the_product_and_comes_back(host, one, first)
            assert first_launch["MFA_TUI_MFA"] == "verified"
            # The first technician is still connected: the database is open in two accounts.
            two = sets_up_email_then_signs_in_with_a_code(host, second, seen)
            try:
                second_launch = opens_the_product_and_comes_back(host, two, second)
                assert second_launch["MFA_TUI_SESSION_ID"] != first_launch["MFA_TUI_SESSION_ID"]
                assert second_launch["USER"] == second.unix_name  # run as the technician
                key = host.data / "secret.key"
                assert key.stat().st_uid != 0  # a technician created it; everyone read it
                assert mode_group(key) == (0o640, host.group)
                for suffix in ("", "-wal", "-shm"):
                    assert mode_group(Path(f"{host.data / 'mfa.db'}{suffix}")) == (
                        0o660,
                        host.group,
                    ), suffix
                # `admin check` as the guide runs it finds nothing wrong with the files.
                _status, lines = admin_check(host)
                assert any(line.startswith("ok     The key file") for line in lines), lines
                assert any(line.startswith("ok     The SMTP password file") for line in lines)
                assert [line for line in lines if line.startswith("error")] == []
            finally:
                assert two.close() == 0
        finally:
            screen = one.text()
            status = one.close()
            assert status == 0, (screen, one.child.before, host.sshd_log()[-3000:])
        # The codes went through the mail server as the guide's SMTP account.
        assert host.sink.auth_attempts and set(host.sink.auth_attempts) == {SMTP_USER}
        for person in (admin, first, second):
            assert wait_until_none(person.unix_name), leftovers(person.unix_name)


def refused(host: KioskHost, argv: list[str], words: str) -> None:
    """``argv`` (an ssh, scp or sftp client) fails, mfa-tui says ``words`` in one line, and the
    account is left with no process."""
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0, (argv, done.stdout, done.stderr)
    assert "\x1b" not in done.stdout  # no escape codes written into the pipe
    if words:
        assert done.returncode == 2, (argv, done.returncode, done.stderr)
        # With a terminal (-tt) the line comes through it, on the client's stdout.
        said = done.stdout if "-tt" in argv else done.stderr
        assert words in said and said.strip().count("\n") == 0, (said, done.stderr)


def test_layout_b_no_terminal_remote_commands_and_dropped_connections(
    installation: Installation, tmp_path: Path
) -> None:
    with kiosk_host("b", installation) as host:
        person = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        target = f"{person.unix_name}@127.0.0.1"
        scp = ["scp", *host.client_options(person, "-P")]
        sftp = ["sftp", "-b", "-", *host.client_options(person, "-P")]
        for block in ("layout-b-sshd", "gate-sshd"):
            if block != "layout-b-sshd":
                host.start_sshd(block)
            cases = [
                (host.ssh_argv(person, tty="-T"), "no terminal"),
                (host.ssh_argv(person, tty="-T", command=("ls", "/")), "runs no remote commands"),
                (host.ssh_argv(person, command=("ls", "/")), "runs no remote commands"),
                ([*scp, f"{target}:/etc/hostname", str(tmp_path / "copied")], ""),
                ([*scp, "-O", f"{target}:/etc/hostname", str(tmp_path / "copied")], ""),
                ([*scp, "-O", "/etc/hostname", f"{target}:/tmp/"], ""),
                ([*sftp, target], ""),
            ]
            for argv, words in cases:
                refused(host, argv, words)
                assert wait_until_none(person.unix_name, GONE_SECONDS), (
                    argv, leftovers(person.unix_name)
                )  # fmt: skip
            assert not (tmp_path / "copied").exists()
        assert host.launches(person) == []
        host.start_sshd("layout-b-sshd")

        # A dropped connection: the ssh client killed on home, and while the product runs.
        for while_in_product in (False, True):
            terminal = host.connect(person)
            type_credentials(terminal, person.email)
            terminal.wait_for("Signed in as")
            if while_in_product:
                terminal.press("1")
                terminal.wait_for(f"{PRODUCT} for {person.email}")
            assert any("mfa-tui" in command_line(pid) for pid in processes_of(person.unix_name))
            os.kill(terminal.child.pid, signal.SIGKILL)
            assert wait_until_none(person.unix_name, GONE_SECONDS), leftovers(person.unix_name)
            terminal.child.close()


def test_layout_b_the_gate_and_kiosk_mode(installation: Installation) -> None:
    with kiosk_host("b", installation) as host:
        admin = host.add_person("admin", ADMIN_EMAIL, "Site Admin")
        person = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        seen: set[str] = set()
        admin_turns_mfa_on(host, admin)

        # The gate: sign-in, MFA set up, then the product *is* the session (no mfa-tui left).
        host.start_sshd("gate-sshd")
        terminal = host.connect(person)
        sets_up_email(host, terminal, person, seen)
        terminal.wait_for(f"{PRODUCT} for {person.email} (--kiosk)")
        # Besides sshd's side of the session and the login shell running the ForceCommand line,
        # only the product runs: mfa-tui became it.
        running = [
            line for line in leftovers(person.unix_name) if not line.startswith(("sshd:", "sh -c"))
        ]
        assert [line.split()[1:] for line in running] == [[str(host.product), "--kiosk"]], running
        (environment,) = host.launches(person)
        assert environment["MFA_TUI_USER_EMAIL"] == person.email
        assert environment["MFA_TUI_MFA"] == "verified"
        assert "MFA_TUI_PRODUCT" not in environment
        secrets_seen(environment)
        terminal.child.send("\r")  # the product exits: so does the SSH session, with its status
        terminal.child.expect(pexpect.EOF, timeout=10)
        terminal.child.close()
        assert terminal.child.exitstatus == 0

        # Quitting the gate's sign-in launches nothing and says so in the status.
        terminal = host.connect(person)
        assert terminal.close() == 1
        assert len(host.launches(person)) == 1

        # Kiosk mode, with home: signing out closes the SSH session.
        host.add_kiosk_mode()
        host.start_sshd("layout-b-sshd")
        terminal = host.connect(person)
        signs_in_with_a_code(host, terminal, person, seen)
        terminal.wait_for("Signed in as")
        terminal.child.send("o")  # Sign out
        terminal.child.expect(pexpect.EOF, timeout=10)
        terminal.child.close()
        assert terminal.child.exitstatus == 0
        for who in (admin, person):
            assert wait_until_none(who.unix_name, GONE_SECONDS), leftovers(who.unix_name)


# ---- layout (a) ----------------------------------------------------------------------------------


def test_layout_a_one_service_account_two_people(installation: Installation) -> None:
    with kiosk_host("a", installation) as host:
        admin = host.add_person("admin", ADMIN_EMAIL, "Site Admin")
        person = host.add_person("user", "alex.kim@acme-logistics.com", "Alex Kim")
        assert admin.unix_name == person.unix_name == host.service
        assert stat.S_IMODE((host.data / "mfa.db").stat().st_mode) == 0o600

        admin_turns_mfa_on(host, admin)
        terminal = sets_up_email_then_signs_in_with_a_code(host, person, set())
        environment = opens_the_product_and_comes_back(host, terminal, person)
        assert environment["USER"] == host.service
        assert environment["MFA_TUI_MFA"] == "verified"
        assert terminal.close() == 0
        assert stat.S_IMODE((host.data / "secret.key").stat().st_mode) == 0o600
        _status, lines = admin_check(host)
        assert any(line.startswith("ok     The SMTP password file") for line in lines), lines
        assert [line for line in lines if line.startswith("error")] == []
        assert wait_until_none(host.service), leftovers(host.service)


def test_the_guide_names_run_as_the_test_runs_them() -> None:
    """The blocks the tests run are the guide's, and the guide says how to reach the product."""
    from tests.e2e.sshd import guide_block

    assert "gate -- /opt/lmm/bin/lmm --kiosk" in guide_block("gate-sshd")
    assert "kiosk = true" in guide_block("kiosk-mode")
    assert 'password_file = "/etc/mfa-tui/smtp-password"' in guide_block("email-section")
    assert '[products."Locker Management Module"]' in guide_block("layout-b-files")
    assert run(["true"]) == ""
