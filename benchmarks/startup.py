"""Start-up to the first paint of the sign-in screen, against a bare Textual app with the same widgets.

Budget: ``mfa-tui`` within 1.15x of the bare app (people wait for it at every sign-in over SSH, so
the project's own work may add little to Textual's).

Each run starts a fresh process in an 80x24 pseudo-terminal, the way a person starts it: the real
``mfa-tui`` entry point (console script, configuration, database, the app) on a migrated database,
and beside it a plain script with the same widgets and Textual's default styles. The clock stops
when the sign-in form is on the (emulated) screen. The two are interleaved run by run, in
alternating order, so a busy machine slows both alike; the figures are medians. Beside the wall
clock, the CPU time the process had used by then (Linux: /proc/PID/task/*/schedstat) gives a ratio
that other work on a shared machine disturbs less. A last figure shows a sign-in's own cost beside
one argon2 verification with the default parameters.

    .venv/bin/python benchmarks/startup.py [--runs 15]

Run ``make bytecode`` first after changing sources: where PYTHONDONTWRITEBYTECODE is set, stale
.pyc files make every start compile the changed modules again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pexpect
import pyte

ROWS, COLS = 24, 80
TIMEOUT = 30.0
SIGN_IN_FORM = ("Email address", "Password", "Sign In")
"""Shown together only once the sign-in screen has been painted."""

BARE = textwrap.dedent(
    """
    from textual.app import App
    from textual.containers import Horizontal, Vertical
    from textual.screen import Screen
    from textual.widgets import Button, Footer, Header, Input, Label, Static

    class SignIn(Screen):
        def compose(self):
            yield Header()
            with Horizontal():
                with Vertical():
                    yield Label("Email address")
                    yield Input(placeholder="you@example.com")
                    yield Label("Password")
                    yield Input(password=True)
                    yield Button("Sign In", variant="primary")
                with Vertical():
                    yield Static("")
            yield Footer()

    class Bare(App):
        def on_mount(self):
            self.push_screen(SignIn())

    Bare().run()
    """
)

SIGN_IN = textwrap.dedent(
    """
    import asyncio, sys, time
    from mfa.config import Config
    from mfa.services import open_services
    from mfa.signin import sign_in
    from mfa import demo

    async def main():
        services = await open_services(Config().with_database(sys.argv[1]))
        await demo.seed(services)
        hasher = services.hasher
        user_hash = hasher.hash(demo.USER_PASSWORD)
        runs = 5
        start = time.perf_counter()
        for _ in range(runs):
            hasher.verify(user_hash, demo.USER_PASSWORD)
        verify = (time.perf_counter() - start) / runs
        start = time.perf_counter()
        for _ in range(runs):
            await sign_in(services, demo.DEMO_USERS[1].email, demo.USER_PASSWORD)
        whole = (time.perf_counter() - start) / runs
        await services.close()
        print(f"{verify * 1000:.1f} {whole * 1000:.1f}")

    asyncio.run(main())
    """
)


def _environment(folder: Path) -> dict[str, str]:
    """A terminal like the e2e tests' one, with no configuration but the database on the line."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MFA_TUI_CONFIG", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TEXTUAL"}
    }
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLS),
        LINES=str(ROWS),
        XDG_CONFIG_HOME=str(folder / "config"),
        XDG_DATA_HOME=str(folder / "data"),
    )
    return env


def _cpu_seconds(pid: int) -> float:
    """CPU time used so far by every thread of process ``pid`` (0.0 where Linux can't say)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that has just ended
    return total / 1e9


def _first_paint(command: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds from starting ``command`` in a pty until the sign-in form shows."""
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    start = time.perf_counter()
    child = pexpect.spawn(command, args, env=env, dimensions=(ROWS, COLS))
    try:
        while True:
            if time.perf_counter() - start > TIMEOUT:
                raise RuntimeError(f"{command}: no sign-in form after {TIMEOUT:.0f} s")
            try:
                stream.feed(child.read_nonblocking(65536, timeout=1.0))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                shown = "\n".join(screen.display)
                raise RuntimeError(f"{command} exited before painting:\n{shown}") from None
            text = "\n".join(screen.display)
            if all(words in text for words in SIGN_IN_FORM):
                return time.perf_counter() - start, _cpu_seconds(child.pid)
    finally:
        child.sendcontrol("q")
        try:
            child.expect(pexpect.EOF, timeout=5)
        except pexpect.TIMEOUT:
            child.terminate(force=True)
        child.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    entry_point = shutil.which("mfa-tui", path=str(bin_dir))
    if entry_point is None:
        sys.exit(f"no mfa-tui beside {sys.executable}: run 'make' first")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = _environment(folder)
        bare_script = folder / "bare.py"
        bare_script.write_text(BARE, encoding="utf-8")
        sides = {
            "bare": (sys.executable, [str(bare_script)]),
            "ours": (entry_point, ["--db", str(folder / "bench.db")]),
        }
        for command, args in sides.values():  # create and migrate the database, warm the caches
            _first_paint(command, args, env)
        times: dict[str, list[float]] = {"bare": [], "ours": []}
        cpu: dict[str, list[float]] = {"bare": [], "ours": []}
        for run in range(options.runs):
            order = ["bare", "ours"] if run % 2 == 0 else ["ours", "bare"]
            for side in order:
                wall, used = _first_paint(*sides[side], env)
                times[side].append(wall)
                cpu[side].append(used)
        result = subprocess.run(
            [sys.executable, "-c", SIGN_IN, str(folder / "signin.db")],
            check=True, capture_output=True, text=True, env=env,
        )  # fmt: skip
        verify_ms, sign_in_ms = (float(x) for x in result.stdout.split())
    bare = statistics.median(times["bare"])
    ours = statistics.median(times["ours"])
    runs = options.runs
    print(f"bare Textual app, first paint:          {bare * 1000:7.1f} ms (median of {runs})")
    print(f"mfa-tui entry point, first paint:       {ours * 1000:7.1f} ms (median of {runs})")
    print(f"ratio:                                  {ours / bare:7.3f}x  (budget 1.15x)")
    ratios = sorted(o / b for o, b in zip(times["ours"], times["bare"], strict=True))
    print(f"run-by-run ratios: min {ratios[0]:.3f}x, median {statistics.median(ratios):.3f}x, "
          f"max {ratios[-1]:.3f}x")  # fmt: skip
    bare_cpu, ours_cpu = statistics.median(cpu["bare"]), statistics.median(cpu["ours"])
    if bare_cpu:
        print(f"CPU time to first paint: bare {bare_cpu * 1000:.1f} ms, mfa-tui {ours_cpu * 1000:.1f} ms,"
              f" ratio {ours_cpu / bare_cpu:.3f}x")  # fmt: skip
    print(f"one argon2 verification:                {verify_ms:7.1f} ms")
    print(f"one whole password sign-in:             {sign_in_ms:7.1f} ms "
          f"({verify_ms / sign_in_ms:.0%} of it is the hash)")  # fmt: skip


if __name__ == "__main__":
    main()
