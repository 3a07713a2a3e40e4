"""The key file that encrypts code secrets: created 0600 on first use, refused when unsafe or wrong."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mfa.keys import SecretKeyError, load_or_create_key, secret_box


def test_the_key_file_is_created_on_first_use_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "mfa.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().strip() == key
    Fernet(key)  # a usable key
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["mfa.key"]  # no temporary file left


def test_a_wide_umask_still_gives_a_private_key_file(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_key(tmp_path / "mfa.key")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "mfa.key").stat().st_mode) == 0o600


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "mfa.key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: load_or_create_key(path), range(16)))
    assert len(keys) == 1
    assert path.read_bytes().strip() in keys


def test_a_key_file_other_users_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mfa.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(path)
    assert f"chmod 600 {path}" in str(caught.value)
    assert "0644" in str(caught.value)


def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mfa.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(descriptor, b"not a key\n")
    os.close(descriptor)
    with pytest.raises(SecretKeyError, match="doesn't hold a key"):
        load_or_create_key(path)


def test_secrets_round_trip_and_another_key_cannot_read_them(tmp_path: Path) -> None:
    box = secret_box(tmp_path / "one.key")
    token = box.encrypt("JBSWY3DPEHPK3PXP")
    assert b"JBSWY3DPEHPK3PXP" not in token
    assert box.decrypt(token) == "JBSWY3DPEHPK3PXP"
    other = secret_box(tmp_path / "two.key")
    with pytest.raises(SecretKeyError, match="isn't the key they were made with"):
        other.decrypt(token)
