"""Show text from the database or from a person exactly as typed: never as markup, never as control.

A display name such as ``[bold red]x[/]`` must appear with its brackets, and one holding an escape
sequence must not reach the terminal as one. :func:`literal` gives a ``rich.text.Text`` (which
Textual never parses as markup) of :func:`printable` text (where control and invisible formatting
characters are replaced by visible stand-ins). Use it for every value read from the database.

A control character is written as everywhere else (``mfa.text.stand_in``: ``^[`` for ESC); an
invisible formatting character becomes U+FFFD here, one column wide, where a printed line or a
message writes ``<U+202E>``: the screen's tables keep their columns.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

from mfa.text import stand_in

_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cs", "Zl", "Zp"})
"""Format characters (bidi overrides, zero-width), surrogates and line/paragraph separators: they
change how the text around them is drawn, so they are shown as U+FFFD instead."""


def printable(value: str) -> str:
    """``value`` with every control character written out and invisible formatting replaced."""
    if value.isprintable():
        return value
    parts = []
    for character in value:
        category = unicodedata.category(character)
        if category == "Cc":
            parts.append(stand_in(character))
        elif category in _INVISIBLE_CATEGORIES:
            parts.append("\ufffd")
        else:
            parts.append(character)
    return "".join(parts)


def literal(value: str, style: str = "") -> Text:
    """A ``Text`` that shows ``value`` as typed (see the module docstring)."""
    return Text(printable(value), style=style, end="")
