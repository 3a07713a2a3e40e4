"""Files mfa-tui creates: private to one account, or shared with one group whoever creates them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import open_database
from store.files import FileAccess, FileAccessError
from tests.shared_group import other_group


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask a login shell usually has, which would leave files readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode_and_group(path: Path) -> tuple[int, int]:
    status = path.stat()
    return stat.S_IMODE(status.st_mode), status.st_gid


async def test_with_a_group_the_database_its_wal_and_shm_and_directory_belong_to_it(
    tmp_path: Path, usual_umask: None
) -> None:
    name, gid = other_group()
    path = tmp_path / "data" / "mfa.db"
    db = await open_database(path, access=FileAccess.for_group(name))
    try:
        async with db.write() as conn:  # a write makes SQLite create -wal and -shm
            await conn.execute("CREATE TABLE probe (x)")
        assert mode_and_group(path.parent) == (0o2770, gid)
        for suffix in ("", "-wal", "-shm"):
            assert mode_and_group(Path(f"{path}{suffix}")) == (0o660, gid), suffix
    finally:
        await db.close()


async def test_with_no_group_the_files_are_private(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "data" / "mfa.db"
    db = await open_database(path)
    try:
        async with db.write() as conn:
            await conn.execute("CREATE TABLE probe (x)")
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        for suffix in ("", "-wal", "-shm"):
            assert stat.S_IMODE(Path(f"{path}{suffix}").stat().st_mode) == 0o600, suffix
    finally:
        await db.close()


async def test_an_existing_database_and_directory_are_left_as_they_are(tmp_path: Path) -> None:
    name, _gid = other_group()
    path = tmp_path / "mfa.db"
    await (await open_database(path)).close()
    path.chmod(0o640)
    await (await open_database(path, access=FileAccess.for_group(name))).close()
    assert mode_and_group(path) == (0o640, os.getegid())


def test_a_group_that_does_not_exist_is_named_in_the_refusal() -> None:
    with pytest.raises(FileAccessError, match=r"'no-such-group-x9' .*groupadd no-such-group-x9"):
        FileAccess.for_group("no-such-group-x9")
