"""The one form in which sign-in addresses are compared: the ``users.email_key`` column.

SQLite's ``lower()`` and ``COLLATE NOCASE`` fold ASCII only (and NOCASE stops at a NUL), while
Python folds every script, so comparing in SQL and in Python disagreed. The key is computed here,
in Python, whenever an address is written or looked up, and SQL compares keys with plain ``=``.
"""

from __future__ import annotations

import unicodedata


def email_key(address: str) -> str:
    """Canonical caseless form of ``address`` (Unicode's canonical caseless match), kept in NFC.

    ``KÄ@example.com``, ``kä@example.com`` and the decomposed ``ka\\u0308@example.com`` share one
    key. The caller has already trimmed the text and refused control characters.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", address).casefold())
