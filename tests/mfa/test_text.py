"""Text shown safely: one escaping for messages, the configuration's errors and printed records."""

from __future__ import annotations

import pytest

from mfa.config import ENV_PREFIX, ConfigError, load_config
from mfa.text import SHOWN_LIMIT, shown


def test_controls_are_written_as_a_terminal_echoes_them() -> None:
    assert shown("\x1b]0;pwned\x07Title") == "^[]0;pwned^GTitle"
    assert shown("a\nb\tc\x7f") == "a^Jb^Ic^?"


def test_everything_else_unprintable_is_written_as_its_code_point() -> None:
    assert (
        shown("C1 \x9b2J, RLO \u202e, ZWSP \u200b") == "C1 <U+009B>2J, RLO <U+202E>, ZWSP <U+200B>"
    )
    assert (
        shown("no\u00a0break, line\u2028sep, \udc80")
        == "no<U+00A0>break, line<U+2028>sep, <U+DC80>"
    )
    assert shown("\U000e0001tag") == "<U+E0001>tag"


def test_printable_text_is_left_alone() -> None:
    assert shown("plain text, accents é, CJK 漢字") == "plain text, accents é, CJK 漢字"


def test_a_message_repeats_at_most_the_limit_and_a_record_is_kept_whole() -> None:
    long = "x" * (SHOWN_LIMIT + 5)
    assert shown(long) == "x" * SHOWN_LIMIT + "..."
    assert shown(long, limit=None) == long
    assert shown("\n" * (SHOWN_LIMIT + 1)) == "^J" * SHOWN_LIMIT + "..."


def test_the_configuration_errors_use_the_same_escaping() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={f"{ENV_PREFIX}SECURITY__EVIL\x1b[2J": "1"})
    assert f"environment {ENV_PREFIX}SECURITY__EVIL^[[2J: unknown key" in str(caught.value)
