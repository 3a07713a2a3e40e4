"""Drive the installed ``mfa-tui`` in a real pseudo-terminal and read the screen like a person.

pexpect gives the process a pty of a fixed size; pyte plays the bytes it writes into a virtual
80x24 screen, so tests wait for words to appear where a person would see them.

Named keys go one at a time with a short pause after each: Textual can mis-read a fast burst of
bytes over a pty (an Escape followed at once by a letter reads as Alt+letter, for one). The text of
a field goes in one write (:meth:`Terminal.write`), as a paste or a fast typist sends it, unless
typing key by key is what a test is about (:meth:`Terminal.type`).

The second half of the module is what a person does in the demo (``mfa-tui --demo``): sign in,
read a code in the Demo inbox, turn MFA on as the admin. The journeys in ``test_*.py`` are built
from these steps.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"

KEY_PAUSE_SECONDS = 0.04
"""How long to wait after each key (the app keeps drawing meanwhile)."""

SETTLE_SECONDS = 0.15
"""A screen is judged once the app has written nothing for this long (a frame can take several
reads, and one change can take several frames)."""

KEYS = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "ctrl+q": "\x11",
    "ctrl+o": "\x0f",
    "down": "\x1b[B",
    "up": "\x1b[A",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "space": " ",
    "backspace": "\x7f",
}


_DRAWING = re.compile("[\u2500-\u259f]")
"""Box-drawing and block characters: the borders of panels, buttons and fields."""


def _flowing(text: str) -> str:
    return " ".join(_DRAWING.sub(" ", text).split())


def shows(screen: str, words: str) -> bool:
    """Whether ``words`` are on ``screen``, also when the app wrapped them over several lines.

    Line breaks, runs of spaces and drawn borders (of a button beside the text, say) between the
    words don't matter; text of another panel on the same rows does.
    """
    return words in screen or _flowing(words) in _flowing(screen)


UNSET = frozenset({"COLORTERM", "NO_COLOR", "FORCE_COLOR", "TEXTUAL", "TEXTUAL_DEBUG"})
"""Settings of the environment running the tests that would change how the app draws; a test
that wants one passes it in ``env``."""


class Terminal:
    """One running ``mfa-tui`` in an 80x24 pseudo-terminal."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, cols: int = 80, rows: int = 24
    ) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        inherited = {name: value for name, value in os.environ.items() if name not in UNSET}
        full_env = {
            **inherited,
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(rows),
        }
        full_env.update(env or {})
        self.child = pexpect.spawn(
            EXE, list(args), env=full_env, dimensions=(rows, cols), timeout=5
        )
        self.child.delaybeforesend = None  # the pause comes after each key instead (see press)

    # ---- reading the screen --------------------------------------------------------------------

    def _pump(self, seconds: float) -> None:
        """Read what the app wrote within ``seconds`` (returns early once something arrived)."""
        try:
            data = self.child.read_nonblocking(65536, timeout=seconds)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise AssertionError("mfa-tui exited:\n" + self.text()) from None
        self.stream.feed(data)

    def pause(self, seconds: float) -> None:
        """Let ``seconds`` pass, keeping the screen up to date."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._pump(left)

    def text(self) -> str:
        """The screen as text, one line per row."""
        return "\n".join(self.screen.display)

    def colours(self) -> set[str]:
        """Every foreground and background colour on the screen (pyte's names, or hex)."""
        return {
            colour
            for row in self.screen.buffer.values()
            for cell in row.values()
            for colour in (cell.fg, cell.bg)
        }

    def look_at(self, row: int, column: int) -> tuple[str, str, str, bool, bool]:
        """The character at ``row``, ``column`` and how it is drawn: fg, bg, reverse, bold."""
        cell = self.screen.buffer[row][column]
        return cell.data, cell.fg, cell.bg, cell.reverse, cell.bold

    def wait_until(self, ready: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        """Wait until ``ready(screen text)`` holds; fail with ``what`` and the screen if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A frame can arrive in several reads: judge the screen once the app stops writing.
            if ready(self.text()) and ready(self._settled()):
                return self.text()
            self._pump(0.1)
        if ready(self._settled()):
            return self.text()
        raise AssertionError(f"{what} never happened. The screen:\n{self.text()}")

    def _settled(self, quiet: float = SETTLE_SECONDS, longest: float = 2.0) -> str:
        """Read until the app has written nothing for ``quiet`` seconds (or ``longest`` passed)."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline:
            try:
                data = self.child.read_nonblocking(65536, timeout=quiet)
            except pexpect.TIMEOUT:
                break
            except pexpect.EOF:
                break
            self.stream.feed(data)
        return self.text()

    def wait_for(self, words: str, timeout: float = 20.0) -> str:
        """Wait until ``words`` are on the screen; fail with the screen's text if they never are."""
        return self.wait_until(lambda text: shows(text, words), f"{words!r} appearing", timeout)

    def wait_for_all(self, *words: str, timeout: float = 20.0) -> str:
        """Wait until every one of ``words`` is on the screen at the same time."""
        return self.wait_until(
            lambda text: all(shows(text, word) for word in words),
            f"all of {words!r} appearing",
            timeout,
        )

    def wait_for_gone(self, words: str, timeout: float = 20.0) -> str:
        """Wait until ``words`` are no longer on the screen."""
        return self.wait_until(
            lambda text: not shows(text, words), f"{words!r} going away", timeout
        )

    # ---- typing --------------------------------------------------------------------------------

    def type(self, text: str) -> None:
        """Type ``text`` one character at a time."""
        for character in text:
            self.child.send(character)
            self.pause(KEY_PAUSE_SECONDS)

    def write(self, text: str) -> None:
        """Send the plain text ``text`` (no named keys) in one write, then pause once."""
        self.child.send(text)
        self.pause(KEY_PAUSE_SECONDS)

    def press(self, *keys: str) -> None:
        """Press named keys (see ``KEYS``; a single character stands for itself), one at a time."""
        for key in keys:
            self.child.send(key if len(key) == 1 else KEYS[key])
            self.pause(KEY_PAUSE_SECONDS)

    # ---- ending --------------------------------------------------------------------------------

    def close(self) -> int | None:
        """Quit (Ctrl+Q) if still running, and return the exit status (None if it had to be killed)."""
        if self.child.isalive():
            self.child.send(KEYS["ctrl+q"])
            try:
                self.child.expect(pexpect.EOF, timeout=10)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self.child.close()
        return self.child.exitstatus


# ---- the demo, as a person uses it ---------------------------------------------------------------

ADMIN_EMAIL = "admin@acme-logistics.com"
ADMIN_PASSWORD = "correct horse battery"
USER_EMAIL = "jordan.lee@acme-logistics.com"
USER_PASSWORD = "sunny kiosk morning"
"""The demo's accounts, as its sign-in screen shows them."""

INBOX_ABOUT = "Every message this demo delivered"
"""The first words of the Demo inbox."""
NEW_MESSAGE = "Ctrl+O"
"""In the notification of a newly delivered message ("Press Ctrl+O to read it in the Demo inbox")."""
ABOUT_MFA = "When MFA is ON, every user"
"""General Preferences says this while MFA is OFF, or ON but not begun."""
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def demo_env(folder: Path, **overrides: str) -> dict[str, str]:
    """The environment of a demo run kept inside ``folder``.

    Configuration and data directories point into ``folder`` (no file of the person running the
    tests is read) and the resend cooldown is off so a journey that sends several
    codes needn't wait 30 s between them.
    """
    env = {
        "MFA_TUI_CONFIG": "",
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
        "MFA_TUI__SECURITY__RESEND_COOLDOWN_SECONDS": "0",
    }
    env.update(overrides)
    return env


def demo_database(folder: Path) -> Path:
    """The file ``mfa-tui --demo --db <folder>/mfa.db`` keeps its data in (beside the named one)."""
    return folder / "mfa-tui-demo.db"


def start_demo(folder: Path, *, reset: bool = True, env: dict[str, str] | None = None) -> Terminal:
    """Start ``mfa-tui --demo`` on a database in ``folder`` and wait for the sign-in screen."""
    args = ["--demo", "--db", str(folder / "mfa.db")]
    if reset:
        args.insert(1, "--reset")
    terminal = Terminal(*args, env=env if env is not None else demo_env(folder))
    terminal.wait_for_all("Sign In", "Email address", "Demo accounts")
    return terminal


def type_credentials(terminal: Terminal, email: str, password: str) -> None:
    """On the sign-in screen (focus in the email field): fill in both and press Enter."""
    terminal.write(email)
    terminal.press("enter")  # to the password
    terminal.write(password)
    terminal.press("enter")


def sign_in(terminal: Terminal, email: str, password: str, *, then: str = "Signed in as") -> str:
    """Sign in from an empty sign-in screen and wait for ``then`` (home, by default)."""
    type_credentials(terminal, email, password)
    return terminal.wait_for(then)


def sign_out(terminal: Terminal) -> None:
    """From the home screen: ``o`` (Sign out), and wait for an empty sign-in screen."""
    terminal.press("o")
    terminal.wait_for_all("Sign In", "you@example.com")


def read_code(terminal: Terminal, recipient: str, *, not_one_of: set[str] | None = None) -> str:
    """Wait for the notification of a new message, read its code in the Demo inbox, go back.

    The inbox lists messages newest first: the code is the first six digits after the first
    ``To:`` line, which must name ``recipient``. A code in ``not_one_of`` (the codes read before)
    is an old message: the inbox is read again until the new one is there. The code read is added
    to ``not_one_of``.
    """
    seen = not_one_of if not_one_of is not None else set()
    terminal.wait_for(NEW_MESSAGE)
    terminal.press("ctrl+o")
    code = ""

    def newest_code_is_there(text: str) -> bool:
        nonlocal code
        if INBOX_ABOUT not in text or "To: " not in text:
            return False
        newest = text[text.index("To: ") :]
        if not newest.startswith(f"To: {recipient}"):
            return False
        found = _CODE.search(newest)
        code = found.group() if found else ""
        return bool(code) and code not in seen

    terminal.wait_until(newest_code_is_there, f"a new code for {recipient} in the Demo inbox")
    terminal.press("escape")
    terminal.wait_for_gone(INBOX_ABOUT)
    seen.add(code)
    return code


def open_general_preferences(terminal: Terminal) -> str:
    """From the admin's home screen: ``p`` (Settings > General Preferences), loaded."""
    terminal.press("p")
    # While it loads the page shows only the (disabled) switch; then what fits MFA's state.
    return terminal.wait_until(
        lambda text: (
            "Multi-factor Authentication (MFA)" in text
            and (ABOUT_MFA in text or "MFA settings" in text)
        ),
        "General Preferences loading",
    )


def mfa_switch_state(screen: str) -> str:
    """What the label beside the MFA switch on General Preferences says: "ON", "OFF" or ""."""
    for line in screen.splitlines():
        words = line.split()
        if words and words[-1] in ("ON", "OFF"):
            return words[-1]
    return ""


def begin_mfa_process(terminal: Terminal) -> str:
    """On General Preferences with MFA OFF (focus on the switch): switch ON, Begin MFA Process.

    Returns the screen once it says "MFA settings complete".
    """
    terminal.wait_for_all(ABOUT_MFA, "OFF")
    terminal.press("space")
    terminal.wait_for("Begin MFA Process")
    time.sleep(0.3)  # switching ON moves the focus to Begin once the button is shown
    terminal.press("enter")
    return terminal.wait_for("MFA settings complete")


def turn_mfa_on(terminal: Terminal) -> None:
    """As the demo admin, from the sign-in screen: turn MFA on, then sign out again."""
    sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_general_preferences(terminal)
    begin_mfa_process(terminal)
    terminal.press("escape")  # back home
    terminal.wait_for("Signed in as")
    sign_out(terminal)


def keep_recovery_codes(terminal: Terminal) -> str:
    """On the recovery codes shown after the first method: tick "I have kept these codes" and
    Continue, by keyboard (from Copy: the file name, Save, the tick box). Returns the screen."""
    codes = terminal.wait_for("I have kept these codes")
    terminal.press("tab")  # the file name
    terminal.press("tab")  # Save to file
    terminal.press("tab")  # I have kept these codes
    terminal.press("space")
    terminal.press("tab")  # Continue
    terminal.press("enter")
    return codes
