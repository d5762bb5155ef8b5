"""`segments delete-contacts` and `segments export`, run as a user runs them: in a subprocess, on
a SQLite file of their own."""

from __future__ import annotations

import base64
import csv
import io
import re
import sqlite3
from pathlib import Path

import pytest

from processes import segments


@pytest.fixture
def imported(tmp_path: Path) -> tuple[dict[str, str], str, Path]:
    """A migrated database with an account of three contacts: the environment, the account
    number, and the database file."""
    path = tmp_path / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite://{path}"}
    assert segments("migrate", env=env).returncode == 0
    created = segments("create-account", "CLI exports", env=env)
    found = re.search(r"\(id (\d+)\)", created.stdout)
    assert found, created.stdout
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "email,first_name,tags,plan\n"
        "ann@example.com,Ann,vip;beta,pro\n"
        "bob@example.com,=HYPERLINK(1),,\n"
        "cy@example.com,Cy,vip,team\n",
        encoding="utf-8",
    )
    done = segments("import-csv", str(contacts), "--account", found.group(1), env=env)
    assert done.returncode == 0, done.stderr
    return env, found.group(1), path


def all_contacts(database: Path, account: str) -> int:
    with sqlite3.connect(database) as conn:
        [(pk,)] = conn.execute(
            "SELECT id FROM segments WHERE account_id = ? AND default_key = 'ALL_CONTACTS'",
            (int(account),),
        ).fetchall()
    return int(pk)


def test_export_writes_the_members_to_a_file_or_stdout(
    imported: tuple[dict[str, str], str, Path], tmp_path: Path
) -> None:
    env, account, database = imported
    pk = all_contacts(database, account)
    global_id = base64.b64encode(f"Segment:{pk}".encode()).decode()
    output = tmp_path / "members.csv"

    to_file = segments("export", global_id, "--output", str(output), env=env)
    to_stdout = segments("export", str(pk), env=env)

    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout.strip() == f"Exported the 3 members of 'All Contacts' to {output}."
    assert "3/3" in to_file.stderr  # the progress bar, on stderr
    text = output.read_text(encoding="utf-8")
    assert to_stdout.returncode == 0 and to_stdout.stdout == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["email"], r["first_name"], r["tags"], r["plan"]) for r in rows] == [
        ("ann@example.com", "Ann", "beta;vip", "pro"),
        ("bob@example.com", "'=HYPERLINK(1)", "", ""),
        ("cy@example.com", "Cy", "vip", "team"),
    ]


def test_export_refuses_an_unknown_segment(imported: tuple[dict[str, str], str, Path]) -> None:
    env, _, _ = imported

    unknown = segments("export", "999999", env=env)
    malformed = segments("export", "U2VnbWVudDowMQ==", env=env)

    assert unknown.returncode == 1 and "No segment with id 999999" in unknown.stderr
    assert malformed.returncode == 2 and "neither a segment number nor its ID" in malformed.stderr
    assert "Traceback" not in unknown.stderr + malformed.stderr


def test_delete_contacts_by_email_reports_the_emails_not_found(
    imported: tuple[dict[str, str], str, Path], tmp_path: Path
) -> None:
    env, account, database = imported
    emails = tmp_path / "forget.txt"
    emails.write_text("ANN@example.com\n\n  cy@example.com \nann@example.com\nnobody@example.com\n")

    done = segments("delete-contacts", "--account", account, "--emails", str(emails), env=env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "2 deleted, 1 not found.",
        "  not found: nobody@example.com",
    ]
    with sqlite3.connect(database) as conn:
        left = conn.execute("SELECT email FROM contacts").fetchall()
        links = conn.execute("SELECT COUNT(*) FROM contact_tags").fetchone()
    assert left == [("bob@example.com",)] and links == (0,)


def test_delete_contacts_refuses_what_it_cannot_read(
    imported: tuple[dict[str, str], str, Path], tmp_path: Path
) -> None:
    env, account, _ = imported
    binary = tmp_path / "emails.bin"
    binary.write_bytes(b"ann@example.com\n\xff\xfe\n")

    missing = segments(
        "delete-contacts", "--account", account, "--emails", str(tmp_path / "no"), env=env
    )
    unreadable = segments("delete-contacts", "--account", account, "--emails", str(binary), env=env)
    no_account = segments("delete-contacts", "--account", "999", "--emails", str(binary), env=env)

    assert missing.returncode == 1 and "No such file" in missing.stderr
    assert unreadable.returncode == 1 and "not UTF-8 text" in unreadable.stderr
    assert no_account.returncode == 1 and "No account with id 999" in no_account.stderr
