"""The kinds of MFA method and their names: constants that cheap modules can share.

Kept apart from ``mfa.factors`` so that the sign-in screen, the demo seed and the method policy
need none of what sending and checking codes load (phone numbers, encryption, OTP).
"""

from __future__ import annotations

KINDS = ("email", "sms", "totp")
"""The method kinds this version can set up, in display order."""

CODE_KINDS = ("email", "sms")
"""The kinds a code is sent to; an authenticator app (``totp``) makes its own codes."""

KIND_NAMES = {"email": "Email", "sms": "SMS", "totp": "Authenticator app"}
"""What each kind is called on screen."""
