"""Messages the screens send up to the app (named in the past tense: what happened)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # loaded with the first sign-in, not at start-up
    from mfa.signin import SignInResult


class PasswordAccepted(Message):
    """The sign-in screen's email and password were right; ``result`` says what comes next."""

    def __init__(self, result: SignInResult) -> None:
        super().__init__()
        self.result = result


class SignOutRequested(Message):
    """The person chose **Sign out**."""


class SignInShown(Message):
    """The sign-in screen became the current screen (first shown, or returned to)."""
