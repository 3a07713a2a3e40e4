"""Start-up to an interactive sign-in screen, against a bare Textual app with the same widgets.

Budget (DESIGN.md section 10): mfa-tui within 1.2x of the bare app. Each run is a fresh Python
process (imports count), driven headless until the sign-in screen is mounted and idle; the figure
is the median of the runs. A third figure shows the sign-in's own cost beside one argon2
verification with the default parameters.

    .venv/bin/python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BARE = textwrap.dedent(
    """
    from textual.app import App
    from textual.containers import Vertical
    from textual.widgets import Button, Footer, Header, Input, Label, Static

    class Bare(App):
        def compose(self):
            yield Header()
            with Vertical():
                yield Static("Sign in")
                yield Label("Email address")
                yield Input()
                yield Label("Password")
                yield Input(password=True)
                yield Static("")
                yield Button("Sign In")
            yield Footer()

    async def main():
        app = Bare()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()

    import asyncio
    asyncio.run(main())
    """
)

OURS = textwrap.dedent(
    """
    import asyncio, sys
    from mfa.config import Config
    from mfa.services import open_services
    from tui.app import create_app
    from tui.screens.signin import SignInScreen

    async def main():
        services = await open_services(Config().with_database(sys.argv[1]))
        app = create_app(services)
        async with app.run_test(size=(80, 24)) as pilot:
            while not isinstance(app.screen, SignInScreen):
                await pilot.pause()
            await pilot.pause()
        await services.close()

    asyncio.run(main())
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


def _time(code: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "bench.db")
        _time(OURS, db)  # create and migrate the file, warm the disk cache
        _time(BARE)
        bare = statistics.median(_time(BARE) for _ in range(options.runs))
        ours = statistics.median(_time(OURS, db) for _ in range(options.runs))
        result = subprocess.run(
            [sys.executable, "-c", SIGN_IN, str(Path(folder) / "signin.db")],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        verify_ms, sign_in_ms = (float(x) for x in result.stdout.split())
    print(f"bare Textual app to sign-in screen: {bare * 1000:7.1f} ms (median of {options.runs})")
    print(f"mfa-tui to sign-in screen:          {ours * 1000:7.1f} ms (median of {options.runs})")
    print(f"ratio:                              {ours / bare:7.2f}x  (budget 1.20x)")
    print(f"one argon2 verification:            {verify_ms:7.1f} ms")
    print(f"one whole password sign-in:         {sign_in_ms:7.1f} ms "
          f"({verify_ms / sign_in_ms:.0%} of it is the hash)")  # fmt: skip


if __name__ == "__main__":
    main()
