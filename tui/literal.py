"""Show text from the database or from a person exactly as typed: never as markup, never as control.

A display name such as ``[bold red]x[/]`` must appear with its brackets, and one holding an escape
sequence must not reach the terminal as one. :func:`literal` gives a ``rich.text.Text`` (which
Textual never parses as markup) of :func:`printable` text (where control and invisible formatting
characters are replaced by visible stand-ins). Use it for every value read from the database.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cs", "Zl", "Zp"})
"""Format characters (bidi overrides, zero-width), surrogates and line/paragraph separators: they
change how the text around them is drawn, so they are shown as U+FFFD instead."""


def _stand_in(character: str) -> str:
    code = ord(character)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation, like a terminal echoes it: ESC is ^[
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"  # C1 controls (0x80-0x9F): CSI 0x9B would start an escape sequence


def printable(value: str) -> str:
    """``value`` with every control character written out and invisible formatting replaced."""
    if value.isprintable():
        return value
    parts = []
    for character in value:
        category = unicodedata.category(character)
        if category == "Cc":
            parts.append(_stand_in(character))
        elif category in _INVISIBLE_CATEGORIES:
            parts.append("\ufffd")
        else:
            parts.append(character)
    return "".join(parts)


def literal(value: str, style: str = "") -> Text:
    """A ``Text`` that shows ``value`` as typed (see the module docstring)."""
    return Text(printable(value), style=style, end="")
