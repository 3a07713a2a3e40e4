"""``mfa_app``: the running :class:`~tui.app.MfaApp`, typed, for the screens that call it.

Textual types ``self.app`` as any ``App``; screens that use the app's services, session or MFA
job runner read it through this property instead of each casting it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from tui.app import MfaApp


class OnMfaApp:
    """Mixin for a ``Screen``: ``self.mfa_app`` is ``self.app`` as the MfaApp it is."""

    @property
    def mfa_app(self) -> MfaApp:
        return cast("MfaApp", self.app)  # type: ignore[attr-defined]
