"""The key file on a host where technicians are their own Unix accounts in one group."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mfa.keys import SecretKeyError, load_or_create_key, read_key
from tests.shared_group import other_group


def test_with_a_group_the_key_file_is_created_0640_and_owned_by_the_group(tmp_path: Path) -> None:
    name, gid = other_group()
    path = tmp_path / "keys" / "mfa.key"
    previous = os.umask(0o077)  # even a strict umask leaves the group its access
    try:
        key = load_or_create_key(path, name)
    finally:
        os.umask(previous)
    status = path.stat()
    assert (stat.S_IMODE(status.st_mode), status.st_gid) == (0o640, gid)
    assert (stat.S_IMODE(path.parent.stat().st_mode), path.parent.stat().st_gid) == (0o2770, gid)
    assert load_or_create_key(path, name) == key
    assert [p.name for p in path.parent.iterdir()] == ["mfa.key"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660, 0o440])
def test_the_owner_and_the_named_group_may_share_the_key(tmp_path: Path, mode: int) -> None:
    name, _gid = other_group()
    path = tmp_path / "mfa.key"
    key = load_or_create_key(path, name)
    path.chmod(mode)
    assert load_or_create_key(path, name) == key
    assert read_key(path, name) == key


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o662])
def test_others_never_may(tmp_path: Path, mode: int) -> None:
    name, _gid = other_group()
    path = tmp_path / "mfa.key"
    load_or_create_key(path, name)
    path.chmod(mode)
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(path, name)
    assert "other users" in str(caught.value)
    assert f"chmod o= {path}" in str(caught.value)


def test_group_access_for_another_group_is_refused(tmp_path: Path) -> None:
    name, _gid = other_group()
    path = tmp_path / "mfa.key"
    load_or_create_key(path)  # created private: this process's own group
    path.chmod(0o640)
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(path, name)
    assert f"a group other than {name}" in str(caught.value)
    assert f"chgrp {name} {path}" in str(caught.value)


def test_with_no_group_named_only_0600_is_accepted(tmp_path: Path) -> None:
    name, _gid = other_group()
    path = tmp_path / "mfa.key"
    load_or_create_key(path, name)  # 0640, the group's
    with pytest.raises(SecretKeyError, match=f"chmod 600 {path}"):
        load_or_create_key(path)


def test_checking_never_creates_a_key(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_key(tmp_path / "mfa.key")
    assert not (tmp_path / "mfa.key").exists()


def test_a_group_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="'no-such-group-x9'"):
        load_or_create_key(tmp_path / "mfa.key", "no-such-group-x9")
