"""Arbitrary configuration input is judged, never crashes: only ConfigError escapes, one line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa.config import _SECTIONS, ConfigError, build_config, load_config

KEYS = [
    f"MFA_TUI__{section.upper()}__{field.name.upper()}"
    for section, cls in _SECTIONS.items()
    for field in dataclasses.fields(cls)
]
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_one_safe_line(error: ConfigError) -> None:
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert not any(ord(char) < 32 or ord(char) == 127 for char in message), repr(message)


@BOUNDED
@given(st.dictionaries(st.sampled_from(KEYS), st.text(max_size=30), max_size=4))
def test_any_environment_value_is_judged(environ: dict[str, str]) -> None:
    try:
        load_config(None, environ={"MFA_TUI_CONFIG": "", **environ})
    except ConfigError as error:
        _assert_one_safe_line(error)


_SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.booleans(),
)


@BOUNDED
@given(
    st.dictionaries(
        st.sampled_from([*_SECTIONS, "nope", "\x1b[2J"]),
        st.dictionaries(st.text(max_size=25), _SCALARS, max_size=4),
        max_size=3,
    )
)
def test_any_parsed_file_is_judged(raw: dict) -> None:
    try:
        build_config(raw, "generated.toml", {})
    except ConfigError as error:
        _assert_one_safe_line(error)


@BOUNDED
@given(st.binary(max_size=200))
def test_any_file_bytes_are_judged(tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path: Path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_bytes(data)
    try:
        load_config(path, environ={})
    except ConfigError as error:
        _assert_one_safe_line(error)
