"""`segments accounts`, `segments tokens` and `segments serve --demo`, run as a user runs them."""

from __future__ import annotations

import argparse
import re
import socket
from pathlib import Path

import pytest

from app.cli_support import account_ref
from processes import TOKEN, free_port, segments, spawned, wait_ready

ACCOUNT_ONE = "QWNjb3VudDox"  # base64("Account:1"), as viewer.id shows it


def sqlite(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}


def ok(*args: str, env: dict[str, str]) -> str:
    done = segments(*args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_accounts_and_their_tokens(tmp_path: Path) -> None:
    env = sqlite(tmp_path)
    ok("migrate", env=env)
    assert "No accounts yet" in ok("accounts", env=env)
    first = TOKEN.search(ok("create-account", "Acme Courses", env=env))
    assert first
    listing = ok("accounts", env=env).splitlines()
    assert listing[0].split() == ["ID", "NUMBER", "NAME", "CREATED", "LIVE", "TOKENS"]
    assert listing[1].startswith(f"{ACCOUNT_ONE}  1       Acme Courses  ")
    assert listing[1].endswith("  1")

    # The API's ID and the number name the same account.
    created = ok("tokens", "create", "--account", ACCOUNT_ONE, "--label", "zapier", env=env)
    secret = TOKEN.search(created)
    assert secret and created.startswith("Created token 2 (zapier) for 'Acme Courses'")
    tokens = ok("tokens", "list", "--account", "1", env=env)
    assert secret.group(0) not in tokens and first.group(0) not in tokens
    rows = tokens.splitlines()[2:]
    assert [row.split()[:2] for row in rows] == [["1", "default"], ["2", "zapier"]]
    assert all(re.search(r"sgt_[0-9a-f]{18}\b", row) for row in rows)

    revoked = ok("tokens", "revoke", "--account", ACCOUNT_ONE, "2", env=env)
    assert revoked.startswith("Revoked token 2 (zapier)")
    assert "already revoked" in ok("tokens", "revoke", "--account", "1", "2", env=env)
    last = ok("tokens", "list", "--account", "1", env=env).splitlines()[-1]
    assert last.endswith("UTC") and last.count("UTC") == 2  # created, revoked; never used

    for args in (["tokens", "revoke", "--account", "1", "9"], ["tokens", "list", "--account", "7"]):
        refused = segments(*args, env=env)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.startswith("segments: No ")
    bad = segments("tokens", "list", "--account", "QWNjb3VudDow", env=env)  # "Account:0"
    assert bad.returncode == 2 and "neither an account number nor its ID" in bad.stderr


@pytest.mark.parametrize("value", ["0", "007", "-1", "U2VnbWVudDox", "QWNjb3VudDox\n", "\u0661"])
def test_account_refs_have_one_spelling(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        account_ref(value)


def test_account_refs() -> None:
    assert account_ref("1") == account_ref(ACCOUNT_ONE) == 1
    assert account_ref("9223372036854775807") == 2**63 - 1


def test_serve_says_the_port_is_taken_before_doing_anything(tmp_path: Path) -> None:
    env = sqlite(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = segments("serve", "--demo", "--port", str(port), env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(f"segments: Can't listen on 127.0.0.1:{port}: ")
    assert "--port" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # nothing migrated, nothing seeded


def _demo_run(env: dict[str, str], log: Path) -> tuple[str, str]:
    """Start `serve --demo`, wait until it serves, stop it: the ID and token it printed."""
    port = free_port()
    command = ["serve", "--demo", "--demo-contacts", "10", "--port", str(port)]
    with spawned(command, env, log):
        wait_ready(f"http://127.0.0.1:{port}", lambda response: response.status_code == 200)
        output = log.read_text()
    found = re.findall(r"is ready: ID (\S+) \(number (\d+)\)", output)
    tokens = TOKEN.findall(output)
    assert found and tokens, output
    assert f"/graphql#token={tokens[-1]}" in output
    return found[-1][0], tokens[-1]


def test_serve_demo_reuses_its_account_and_revokes_the_previous_token(tmp_path: Path) -> None:
    env = sqlite(tmp_path)
    first_id, first = _demo_run(env, tmp_path / "first.log")
    second_id, second = _demo_run(env, tmp_path / "second.log")
    assert first_id == second_id == ACCOUNT_ONE and first != second
    listed = ok("tokens", "list", "--account", first_id, env=env).splitlines()[2:]
    demo = [row for row in listed if row.split()[1] == "demo"]
    assert len(demo) == 2
    assert demo[0].endswith("UTC") and demo[0].count("UTC") >= 2  # the first: revoked
    assert demo[1].endswith("-")  # the second: live
    assert ok("accounts", env=env).count("Demo Academy") == 1


def test_the_import_alias(tmp_path: Path) -> None:
    env = sqlite(tmp_path)
    ok("migrate", env=env)
    ok("create-account", "Alias", env=env)
    path = tmp_path / "few.csv"
    path.write_text("email\nann@example.com\n", encoding="utf-8")
    assert ok("import", str(path), "--account", ACCOUNT_ONE, env=env).startswith(
        "1 rows read, 1 imported, 0 rejected."
    )
