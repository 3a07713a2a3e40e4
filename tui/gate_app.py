"""The app ``mfa-tui gate`` runs: the sign-in screens only (sign-in, MFA setup, verification).

A complete sign-in ends the app instead of opening home; :mod:`tui.gate` then hands the terminal
to the command. Quitting (Ctrl+Q) before that leaves status 1, as in the full app.
"""

from __future__ import annotations

from mfa.session import Session
from tui import lifecycle
from tui.app import MfaApp


class GateApp(MfaApp):
    """Sign-in and MFA, then out of the way."""

    signed_in: Session | None = None
    """The complete sign-in, once there is one; the gate launches its command for it."""

    def _open_home(self, session: Session) -> None:  # type: ignore[override]
        # Where the full app opens home, the gate is done: the command takes over from here.
        self.signed_in = session
        self.exit(return_code=lifecycle.EXIT_SIGNED_IN)
