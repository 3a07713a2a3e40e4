"""A stand-in for a product in the demo: ``python -m tui.demo_product "PitneyShip Pro"``.

A plain program, not part of the Textual app: it shows who launched it, read from the environment mfa-tui hands a product
(:mod:`mfa.products`), and waits for a key; then mfa-tui is back. So ``mfa-tui --demo`` goes
sign-in, MFA, launch, and back, without any real product installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence

from mfa import products
from mfa.text import whole_line as printable

SHOWN = (
    ("Email", products.ENV_EMAIL),
    ("Name", products.ENV_NAME),
    ("Role", products.ENV_ROLE),
    ("Subscription", products.ENV_SUBSCRIPTION),
    ("Session", products.ENV_SESSION),
    ("MFA", products.ENV_MFA),
)


def page(environ: Mapping[str, str], product: str) -> str:
    """What the stand-in shows."""
    lines = [
        f"{printable(product)} (demo stand-in)",
        "",
        "mfa-tui started this program after a complete sign-in, and told it who you are:",
        "",
    ]
    for label, name in SHOWN:
        lines.append(f"  {label + ':':<14}{printable(environ.get(name, '(not set)'))}")
    lines += [
        "",
        "A real product would start here; its command is set in the configuration under",
        f'[products."{printable(product)}"].',
        "",
        "Press any key to go back to mfa-tui.",
    ]
    return "\n".join(lines)


def wait_for_key() -> None:
    """Wait for one key press (when there is a terminal to press it on)."""
    if not sys.stdin.isatty():
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    before = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        os.read(fd, 64)  # a key can arrive as several bytes (an arrow, say): take them all
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, before)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    product = os.environ.get(products.ENV_PRODUCT) or (args[0] if args else "A product")
    if sys.stdout.isatty():
        sys.stdout.write("\x1b[H\x1b[2J")  # a clean screen, as a product would start on
    print(page(os.environ, product), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        wait_for_key()
    return 0


if __name__ == "__main__":
    sys.exit(main())
