"""Messages the screens send up to the app (named in the past tense: what happened)."""

from __future__ import annotations

from textual.message import Message

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
