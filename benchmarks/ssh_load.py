"""Many technicians at once over SSH: sessions that each sign in with MFA, through a real sshd.

A kiosk host is set up as docs/ssh-kiosk.md's layout (b) says (technicians as their own Unix
accounts in one group), in a temporary directory, with its own sshd on 127.0.0.1 and an aiosmtpd
for the codes; argon2 keeps its default parameters. MFA is turned on (``admin mfa enable``), then:

1. setup: every technician connects at once and sets up email (a code by mail);
2. sign-in: every technician connects at once, signs in, and enters the code mailed to them.

For each round: errors (must be 0), the time from ``ssh`` starting to the sign-in screen, and from
pressing Enter on the password to the home screen (argon2, the code sent by SMTP, typing it,
checking it), as median and p95. Loopback only; bounded: at most 50 sessions, and every round
stops at its deadline. Everything it created (accounts, group, files, sshd) is removed at the end.
Needs root and sshd (as the SSH tests do).

    .venv/bin/python benchmarks/ssh_load.py [--sessions 20] [--deadline 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.sshd import (  # the checkout's tests, found through the path above
    Installation,
    KioskHost,
    Person,
    kiosk_host,
    run,
    type_credentials,
    unavailable,
    wait_for_code,
)

MAX_SESSIONS = 50


@dataclass
class Round:
    """The figures of one round of simultaneous sessions."""

    name: str
    to_sign_in_screen: list[float] = field(default_factory=list)
    sign_in_to_home: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)
    """The whole message (with the screen) of each error, for --show-screens."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def session(host: KioskHost, person: Person, figures: Round, setup: bool, seen: set[str]) -> None:
    started = time.monotonic()
    terminal = host.connect(person)  # waits for the sign-in screen
    try:
        shown = time.monotonic()
        type_credentials(terminal, person.email)
        entered = time.monotonic()
        if setup:
            terminal.wait_for("Select the Setup button", timeout=120)
            terminal.press("enter")
            terminal.wait_for("Send me the code", timeout=60)
            terminal.press("enter")
        terminal.wait_for("We sent a code to", timeout=120)
        terminal.type(wait_for_code(host.sink, person.email, seen, timeout=120))
        terminal.press("enter")
        if setup:
            terminal.wait_for("Multi-factor authentication is set up.", timeout=60)
            terminal.press("enter")  # Continue
        terminal.wait_for("Signed in as", timeout=120)
        home = time.monotonic()
    finally:
        status = terminal.close()
    if status != 0:
        raise AssertionError(f"ssh exited {status}")
    with figures.lock:
        figures.to_sign_in_screen.append(shown - started)
        figures.sign_in_to_home.append(home - entered)


def run_round(
    host: KioskHost, people: list[Person], name: str, setup: bool, deadline: float
) -> Round:
    figures = Round(name)
    seen_by_person: dict[str, set[str]] = {p.email: set() for p in people}

    def one(person: Person) -> None:
        try:
            session(host, person, figures, setup, seen_by_person[person.email])
        except Exception as error:  # every failure is a figure: count it and go on
            with figures.lock:
                figures.errors.append(f"{person.email}: {str(error).splitlines()[0]}")
                figures.screens.append(f"{person.email}: {error}")

    threads = [threading.Thread(target=one, args=(p,), daemon=True) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    unfinished = sum(thread.is_alive() for thread in threads)
    if unfinished:
        figures.errors.append(f"{unfinished} session(s) still running at the deadline")
    return figures


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(figures: Round, sessions: int, show_screens: bool = False) -> None:
    print(f"{figures.name}: {sessions} sessions at once, errors {len(figures.errors)}")
    for label, values in (
        ("ssh start to sign-in screen", figures.to_sign_in_screen),
        ("sign-in to home (with the code)", figures.sign_in_to_home),
    ):
        if values:
            print(
                f"  {label:<32} median {statistics.median(values):6.2f} s   "
                f"p95 {p95(values):6.2f} s   max {max(values):6.2f} s   (n={len(values)})"
            )
    for error in figures.screens if show_screens else figures.errors:
        print(f"  error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds per round")
    parser.add_argument(
        "--show-screens", action="store_true", help="print the screen of every failed session"
    )
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    reason = unavailable()
    if reason:
        print(f"ssh_load: can't run: {reason}", file=sys.stderr)
        return 2
    installation = Installation.build()
    errors = 0
    try:
        with kiosk_host("b", installation) as host:
            people = [
                host.add_person("user", f"tech{n:02d}@acme-logistics.com", f"Technician {n:02d}")
                for n in range(args.sessions)
            ]
            run([str(installation.executable), "--config", str(host.config_file),
                 "admin", "mfa", "enable"])  # fmt: skip
            for name, setup in (("setup (email)", True), ("sign-in with a code", False)):
                figures = run_round(host, people, name, setup, time.monotonic() + args.deadline)
                report(figures, args.sessions, args.show_screens)
                errors += len(figures.errors)
    finally:
        installation.remove()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
