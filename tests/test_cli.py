"""The `segments` command, run as a user runs it: in a subprocess, on its own database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from processes import TOKEN, free_port, new_token, segments, spawned, wait_ready


@pytest.mark.postgres
async def test_serve_refuses_an_unmigrated_postgres_then_migrate_fixes_it(
    empty_postgres: str,
) -> None:
    env = {"DATABASE_URL": empty_postgres}
    refused = segments("serve", "--port", "1", env=env)
    assert refused.returncode == 1
    assert "Run `segments migrate`" in refused.stderr
    assert "Traceback" not in refused.stderr

    migrated = segments("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Applied models.0001_initial" in migrated.stdout
    assert "up to date" in segments("migrate", env=env).stdout

    created = segments("create-account", "Studio One", env=env)
    assert created.returncode == 0, created.stderr
    assert TOKEN.search(created.stdout)


def test_bad_settings_are_reported_in_one_line(tmp_path: Path) -> None:
    result = segments("migrate", env={"DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert result.stderr.startswith("segments: DATABASE_URL must start with")


def test_import_csv_reports_a_missing_file(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    result = segments("import-csv", str(tmp_path / "missing.csv"), "--account", "1", env=env)
    assert result.returncode == 1
    assert "No such file" in result.stderr


def test_import_csv_reports_hostile_rows_and_imports_the_rest(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    assert segments("migrate", env=env).returncode == 0
    created = segments("create-account", "CSV import", env=env)
    assert created.returncode == 0, created.stderr
    found = re.search(r"\(id (\d+)\)", created.stdout)
    assert found, created.stdout
    account = found.group(1)
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        b"email,first_name,plan\n"
        b"ann@example.com,Ann,pro\n"
        b"bob@example.com,Ren\xe9,\n"
        b"cat@example.com,C\x00at,\n"
        b"ANN@example.com,Annie,\n"
        b"dan@example.com,Dan," + b"x" * 200_000 + b"\n"
        b"eve@example.com,Eve,basic\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = segments(
        "import-csv", str(path), "--account", account, "--rejects", str(rejects), env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        "6 rows read, 2 imported, 4 rejected.",
        "  line 3: first_name: The first name is not valid UTF-8 (byte 0xE9 at character 4).",
        "  line 4: first_name: The first name contains a NUL character.",
        "  line 5: email: The email 'ANN@example.com' is already on line 2;"
        " each email may appear only once in a file.",
        "  line 6: custom_fields: Custom fields are at most 16384 bytes as JSON; got 200012.",
        f"Rejected rows written to {rejects}, whole, after their line, field and reason:"
        " fix them there and import that file again.",
    ]
    assert rejects.read_bytes().splitlines()[:2] == [
        b"rejected_line,rejected_field,rejected_reason,email,first_name,plan",
        b"3,first_name,The first name is not valid UTF-8 (byte 0xE9 at character 4).,"
        b"bob@example.com,Ren\xe9,",
    ]

    # A file that isn't CSV text at all: one line, exit 1, nothing imported.
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    refused = segments("import-csv", str(binary), "--account", account, env=env)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"segments: {binary}: The file is not UTF-8 text (column 1 of the header has the byte"
        " 0x89 at character 1): save it as CSV UTF-8."
    ]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`segments serve --demo` on a fresh SQLite file: the README's run command."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'demo.sqlite3'}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--demo",
            "--demo-contacts",
            "200",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        token = None
        deadline = time.monotonic() + 120
        output: list[str] = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if token is None and (match := TOKEN.search(line)):
                token = match.group(0)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        assert token is not None, "".join(output)
        yield f"http://127.0.0.1:{port}", token
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def test_demo_server_answers_viewer_with_the_printed_token(demo_server: tuple[str, str]) -> None:
    base, token = demo_server
    query = {"query": "{ viewer { name } }"}
    answer = httpx.post(f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json() == {"data": {"viewer": {"name": "Demo Academy"}}}
    assert httpx.post(f"{base}/graphql", json=query).status_code == 401
    ide = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    # The demo's segments are counted before the server starts.
    counts = {"query": "{ segments { edges { node { defaultKey count { value computedAt } } } } }"}
    edges = httpx.post(
        f"{base}/graphql", json=counts, headers={"Authorization": f"Bearer {token}"}
    ).json()["data"]["segments"]["edges"]
    everyone = next(e["node"]["count"] for e in edges if e["node"]["defaultKey"] == "ALL_CONTACTS")
    assert everyone["value"] == 200 and everyone["computedAt"]


@pytest.mark.postgres
def test_serve_with_workers_runs_that_many_processes(empty_postgres: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": empty_postgres, "REDIS_URL": "", "SEGMENTS_DB_POOL_SIZE": "3"}
    assert segments("migrate", env=env).returncode == 0
    token = new_token(segments("create-account", "Two", env=env).stdout)
    port = free_port()
    with spawned(
        ["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "api.log"
    ) as api:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda response: response.status_code == 200)
        answers = {
            httpx.post(
                f"{base}/graphql",
                json={"query": "{ viewer { name } }"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["data"]["viewer"]["name"]
            for _ in range(20)
        }
        assert answers == {"Two"}
        children = subprocess.run(
            ["pgrep", "-P", str(api.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        serving = [
            pid for pid in children if "segments" in _cmdline(pid) or "spawn" in _cmdline(pid)
        ]
        assert len(serving) >= 2, (children, [_cmdline(pid) for pid in children])


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
