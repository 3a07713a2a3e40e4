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


def shown(text: str, limit: int | None = SHOWN_LIMIT) -> str:
    """``text`` safe on one line of a terminal: every character that isn't printable is written
    out, and text longer than ``limit`` characters is cut (with ``...``); ``limit=None`` keeps it
    whole (a printed record).

    This is the one way mfa-tui writes unsafe text out, in messages, the configuration's errors
    and the admin commands' output alike: a control character in caret notation, as a terminal
    echoes it (``^[`` for ESC, ``^J`` for a newline, ``^?`` for DEL), anything else that isn't
    printable (C1 controls, bidirectional overrides, zero-width and other format characters, line
    separators, unusual spaces, private-use or unassigned characters, lone surrogates) as
    ``<U+XXXX>``. The result holds no line break, so one record stays one line, and nothing a
    terminal would act on.
    """
    cut = text if limit is None else text[:limit]
    if cut.isprintable():
        escaped = cut
    else:
        escaped = "".join(char if char.isprintable() else stand_in(char) for char in cut)
    return escaped + ("..." if limit is not None and len(text) > limit else "")


def whole_line(text: str) -> str:
    """``text`` safe on one line of a terminal and never cut (a printed record, a configuration
    key): :func:`shown` without a limit."""
    return shown(text, limit=None)


def stand_in(char: str) -> str:
    """What :func:`shown` writes instead of the unprintable ``char``: ``^[``, ``^?``, ``<U+202E>``."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"  # C1 controls too: CSI (0x9B) would start an escape sequence
