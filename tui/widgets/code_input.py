"""The field a one-time code is typed into: up to six digits, nothing else.

The setup cards, the authenticator app's setup, Verify and "Confirm it's you" all take the same
code; one widget keeps them taking it the same way. Styles go by id in each screen's ``.tcss``;
a ``CodeInput`` is an ``Input`` to queries, messages and CSS alike.
"""

from __future__ import annotations

from textual.widgets import Input

CODE_CHARACTERS = r"[0-9]*"
"""What a one-time code is made of (the field refuses anything else as it is typed)."""
CODE_LENGTH = 6


class CodeInput(Input):
    """A one-time code field: digits only, at most :data:`CODE_LENGTH` of them."""

    def __init__(
        self, placeholder: str = "6 digits", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(
            placeholder=placeholder,
            restrict=CODE_CHARACTERS,
            max_length=CODE_LENGTH,
            id=id,
            classes=classes,
        )
