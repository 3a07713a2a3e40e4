"""Text typed or imported by a person, judged before it is stored and shown safely in messages.

Names and addresses end up on terminals (tables, dialogs, the headless commands' output), so new
ones may not hold control or format characters: an escape sequence could retitle or clear the
screen, a newline or tab would forge a row, a bidirectional override would reorder what is shown.
Lone surrogates are what Python makes of bytes that don't match the locale's encoding (in argv,
environment variables or stdin): they can't be encoded, so nothing can store or hash them.
"""

from __future__ import annotations

import unicodedata

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format, surrogate, private-use and unassigned characters, line and paragraph
separators: what a terminal may act on or can't show."""

JOINERS = frozenset({"\u200c", "\u200d"})
"""Zero-width (non-)joiners: format characters that names in Persian and Indic scripts need."""

UNREADABLE = "it has characters that can't be read as text (check the terminal's encoding)."
"""The end of the message for text holding lone surrogates."""

SHOWN_LIMIT = 80
"""How many characters of a person's text a message repeats."""


def is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def unreadable(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (it can't be encoded as UTF-8)."""
    return any(is_surrogate(char) for char in text)


def refused_character(text: str, *, allow_joiners: bool = False) -> str | None:
    """The first character that may not be stored in a name or address, or None."""
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            if allow_joiners and char in JOINERS:
                continue
            return char
    return None


def describe(char: str) -> str:
    """What the refused character is, in words: ``a control character (U+001B)``."""
    code = f"U+{ord(char):04X}"
    if is_surrogate(char):
        return f"characters that can't be read as text ({code}; check the terminal's encoding)"
    category = unicodedata.category(char)
    if category == "Cf":
        return f"an invisible formatting character ({code})"
    if category == "Co":
        return f"a private-use character ({code})"
    if category == "Cn":
        return f"a character Unicode doesn't define ({code})"
    if category in {"Zl", "Zp"}:
        return f"a line break ({code})"
    return f"a control character ({code})"


def shown(text: str, limit: int = SHOWN_LIMIT) -> str:
    """``text`` safe to repeat in a one-line message: what isn't printable is escaped
    (``\\x1b``, ``\\u202e``, ``\\udc80``) and long text is cut to ``limit`` characters."""
    escaped = "".join(char if char.isprintable() else _escape(char) for char in text[:limit])
    return escaped + ("..." if len(text) > limit else "")


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
