"""Every failure of an admin command is one line on stderr, the README's exit code, and leaves the
database as it was: odd ``--db`` paths, a read-only directory, a disk that fills up mid-import."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin_cli.test_users import run

EXIT_UNUSABLE = 2


def _one_line_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Event loop is closed" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A real small or read-only filesystem (needs root: the test is skipped otherwise)."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_db_path_below_a_regular_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    line = _one_line_failure(run(tmp_path / "afile" / "x.db", "users", "list"), EXIT_UNUSABLE)
    assert "afile is a file, not a directory" in line
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_a_db_path_naming_a_directory_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for _ in range(3):  # the thread traceback came only some of the time
        line = _one_line_failure(run(folder, "users", "list"), EXIT_UNUSABLE)
        assert "is a directory" in line
    assert list(folder.iterdir()) == []


def test_a_new_database_in_a_read_only_directory_is_one_line(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as read_only:
        for _ in range(3):
            result = run(read_only / "new.db", "users", "list")
            line = _one_line_failure(result, EXIT_UNUSABLE)
            assert "read-only" in line
        assert list(read_only.iterdir()) == []


def test_a_disk_filling_up_during_import_is_one_line_and_imports_nothing(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "size=600k") as small:
        db = small / "full.db"
        init = run(
            db, "init", "--subscription", "Acme", "--email", "boss@example.com",
            stdin="correct horse battery staple\n",
        )  # fmt: skip
        assert init.returncode == 0, init.stderr
        csv_file = tmp_path / "many.csv"
        rows = [f"user{n}@example.com,User {n} {'x' * 200},user" for n in range(5_000)]
        csv_file.write_text("email,name,role\n" + "\n".join(rows) + "\n")
        result = run(db, "users", "import", str(csv_file))
        line = _one_line_failure(result, EXIT_UNUSABLE)
        assert "full" in line and "nothing was changed" in line
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert os.path.exists(db)
