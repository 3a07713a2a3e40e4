"""What the admin commands print from the database is safe for a terminal: escape sequences, newlines
and tabs in stored names and addresses are written out visibly, one record per line; ``--format
csv|json`` carry the raw values through real writers. The list shows each user's MFA methods, lock
and status, and filters on them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from admin_cli.output import err, out, out_row, shown
from tests.admin_cli.test_users import initialised, run  # noqa: F401 (a fixture)

HOSTILE = {
    "title@example.com": "\x1b]0;pwned\x07Title Setter",
    "clear@example.com": "\x1b[2J\x1b[HClear Screen",
    "link@example.com": "\x1b]8;;https://evil.example/\x1b\\Click me\x1b]8;;\x1b\\",
    "newline@example.com": "Two\nboss@example.com\tfake row",
    "tab@example.com": "Tab\tName",
    "csi@example.com": "C1 \x9b2J CSI and \u202eRLO",
}
HOSTILE_ADDRESS = "ops\x1b]0;owned\x07@plant7"


def _insert(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        subscription = conn.execute("SELECT id FROM subscriptions").fetchone()[0]
        rows = [(subscription, email, 1, None, name, "active") for email, name in HOSTILE.items()]
        rows.append(
            (subscription, HOSTILE_ADDRESS, 0, "email address has no domain", "Ops", "active")
        )
        conn.executemany(
            "INSERT INTO users (subscription_id, email, email_deliverable, email_problem,"
            " display_name, status, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, 'x', 0)",
            rows,
        )


def _assert_terminal_safe(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\x9b\u202e\r")
    assert all(line.isprintable() or "\t" in line for line in text.splitlines())


@pytest.fixture
def hostile_db(initialised: Path) -> Path:  # noqa: F811
    _insert(initialised)
    return initialised


def test_the_table_writes_control_characters_out_one_user_per_line(hostile_db: Path) -> None:
    listed = run(hostile_db, "users", "list")
    assert listed.returncode == 0, listed.stderr
    _assert_terminal_safe(listed.stdout)
    lines = listed.stdout.splitlines()
    assert len(lines) == 1 + 1 + len(HOSTILE) + 1  # header, boss, the hostile ones, ops
    columns = [line.split("\t") for line in lines]
    assert {len(row) for row in columns} == {8}, "a tab in a name made an extra column"
    by_email = {row[0]: row for row in columns[1:]}
    assert by_email["title@example.com"][1] == "^[]0;pwned^GTitle Setter"
    assert by_email["clear@example.com"][1] == "^[[2J^[[HClear Screen"
    assert by_email["link@example.com"][1] == "^[]8;;https://evil.example/^[\\Click me^[]8;;^[\\"
    assert by_email["newline@example.com"][1] == "Two^Jboss@example.com^Ifake row"
    assert by_email["tab@example.com"][1] == "Tab^IName"
    assert by_email["csi@example.com"][1] == "C1 <U+009B>2J CSI and <U+202E>RLO"
    assert "ops^[]0;owned^G@plant7" in by_email


def test_csv_and_json_carry_the_raw_values(hostile_db: Path) -> None:
    as_csv = run(hostile_db, "users", "list", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    records = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {r["email"]: r["name"] for r in records if r["email"] in HOSTILE} == HOSTILE
    assert HOSTILE_ADDRESS in {r["email"] for r in records}
    as_json = run(hostile_db, "users", "list", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    _assert_terminal_safe(as_json.stdout)  # json escapes control characters itself
    users = json.loads(as_json.stdout)
    assert {u["email"]: u["name"] for u in users if u["email"] in HOSTILE} == HOSTILE
    assert users[0].keys() >= {"mfa_required", "mfa_methods", "locked", "status"}


def test_failed_users_of_the_mfa_process_are_printed_safely(hostile_db: Path) -> None:
    enabled = run(hostile_db, "mfa", "enable")
    assert enabled.returncode == 1, enabled.stderr
    _assert_terminal_safe(enabled.stdout)
    _assert_terminal_safe(enabled.stderr)
    failed = [line for line in enabled.stdout.splitlines() if line.startswith("  ")]
    assert failed == ["  ops^[]0;owned^G@plant7 (Ops): email address has no domain"]
    for command in ("status", "retry"):
        again = run(hostile_db, "mfa", command)
        _assert_terminal_safe(again.stdout)
        assert "  ops^[]0;owned^G@plant7 (Ops): email address has no domain" in again.stdout


def test_the_list_shows_methods_lock_and_status_and_filters_on_them(initialised: Path) -> None:  # noqa: F811
    with sqlite3.connect(initialised) as conn:
        subscription = conn.execute("SELECT id FROM subscriptions").fetchone()[0]
        for email, status, failures in (
            ("both@example.com", "active", 0),
            ("locked@example.com", "active", 100),
            ("gone@example.com", "disabled", 0),
        ):
            conn.execute(
                "INSERT INTO users (subscription_id, email, display_name, status, password_hash,"
                " failed_attempts, created_at) VALUES (?, ?, 'N', ?, 'x', ?, 0)",
                (subscription, email, status, failures),
            )
        both = conn.execute("SELECT id FROM users WHERE email = 'both@example.com'").fetchone()[0]
        for kind, verified in (("sms", 1.0), ("email", 1.0)):
            conn.execute(
                "INSERT INTO mfa_methods (user_id, kind, destination, secret, verified_at,"
                " created_at) VALUES (?, ?, 'd', x'00', ?, 0)",
                (both, kind, verified),
            )
    rows = {
        line.split("\t")[0]: line.split("\t")
        for line in run(initialised, "users", "list").stdout.splitlines()
    }
    assert rows["email"][5:] == ["mfa_methods", "locked", "email_problem"]
    assert rows["both@example.com"][5:7] == ["Email, SMS", "no"]
    assert rows["locked@example.com"][5:7] == ["not set up", "yes"]
    assert rows["gone@example.com"][3] == "disabled"

    def listed(*flags: str) -> list[str]:
        result = run(initialised, "users", "list", *flags)
        assert result.returncode == 0, result.stderr
        return [line.split("\t")[0] for line in result.stdout.splitlines()[1:]]

    assert listed("--locked") == ["locked@example.com"]
    assert listed("--disabled") == ["gone@example.com"]
    assert listed("--without-mfa") == [
        "boss@example.com", "gone@example.com", "locked@example.com",
    ]  # fmt: skip
    assert listed("--without-mfa", "--disabled") == ["gone@example.com"]


def test_every_printed_line_is_made_safe(capsys: pytest.CaptureFixture[str]) -> None:
    out("Imported into \x1b]0;x\x07Acme.")
    err("warning: users.csv: line 3: a\nb@example: no domain")
    out_row(["a\tb", "c"])
    captured = capsys.readouterr()
    assert captured.out == "Imported into ^[]0;x^GAcme.\na^Ib\tc\n"
    assert captured.err == "warning: users.csv: line 3: a^Jb@example: no domain\n"
    assert shown("plain text, accents é, CJK 漢字") == "plain text, accents é, CJK 漢字"
    assert shown("\u200bzero\u2028width") == "<U+200B>zero<U+2028>width"
