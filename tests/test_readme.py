"""The README's GraphQL examples run as written against a demo account."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.filters.ids import to_global_id
from app.main import create_app
from app.models import Account, Contact
from app.services.accounts import issue_token
from app.services.demo import seed_demo
from app.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(examples()) >= 5


async def test_every_example_runs_against_the_demo_account(db: str, account: Account) -> None:
    await seed_demo(account, 300)
    token = await issue_token(account)
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for example in examples():
            response = await client.post(
                "/graphql",
                json={"query": example, "variables": await variables_for(example, account)},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, (example, body)
            for payload in body["data"].values():
                errors = payload.get("userErrors", []) if isinstance(payload, dict) else []
                # The import example shows one invalid item on purpose.
                assert all(e["field"] == ["input", "1", "email"] for e in errors), (example, errors)


async def variables_for(example: str, account: Account) -> dict[str, Any]:
    """Values for the variables an example declares: `$ids` names the contact that the
    import example created."""
    declared = set(re.findall(r"\$(\w+)\s*:", example))
    values: dict[str, Any] = {}
    if "ids" in declared:
        ada = await Contact.get(account=account, email_lower="ada@example.com")
        values["ids"] = [to_global_id("Contact", ada.id)]
    assert declared <= set(values), ("no value for its variables", example)
    return values


# -- the `segments` examples (```console blocks) ------------------------------------------------

SAMPLES = README.parent / "tests" / "samples"
# `<anything>` in an example's output stands for what changes from run to run.
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")


def console_examples() -> list[tuple[str, list[str]]]:
    """Each `$ segments ...` command of the README's console blocks, in order, with the output
    lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    text = README.read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip():
                steps[-1][1].append(line.rstrip())
    return steps


def shown(line: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(line)
    return re.compile(".+?".join(re.escape(part) for part in parts))


def test_the_readme_shows_segments_commands() -> None:
    commands = [command for command, _ in console_examples()]
    assert len(commands) >= 10
    assert all(command.startswith("segments ") for command in commands)


def test_every_segments_example_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "tests" / "samples")
    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'readme.sqlite3'}"}
    for command, expected in console_examples():
        argv = shlex.split(command)[1:]
        done = subprocess.run(
            [sys.executable, "-m", "app", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        printed = [line.rstrip() for line in done.stdout.splitlines()]
        # Every line shown appears, in order (blank lines and progress aside).
        position = 0
        for line in expected:
            pattern = shown(line)
            while position < len(printed) and not pattern.fullmatch(printed[position]):
                position += 1
            assert position < len(printed), (command, line, printed)
            position += 1


def test_the_webhook_verification_snippet_accepts_our_signatures_only() -> None:
    from app.services.webhook_delivery import sign

    text = README.read_text(encoding="utf-8")
    snippet = re.findall(r"```python\n(.*?)```", text[text.index("### Webhooks") :], re.S)[0]
    scope: dict[str, Any] = {}
    exec(compile(snippet, "README snippet", "exec"), scope)
    verify, handle = scope["verify"], scope["handle"]
    body = b'{"id":"d1","type":"BULK_JOB_FINISHED","data":{}}'
    now = int(time.time())
    header = sign("whsec_x", now, body.decode())
    assert verify("whsec_x", header, body)
    assert not verify("whsec_y", header, body)
    assert not verify("whsec_x", header, body + b" ")
    assert not verify("whsec_x", sign("whsec_x", now - 3600, body.decode()), body)
    assert handle("whsec_x", header, body) == 200 == handle("whsec_x", header, body)
    assert scope["seen"] == {"d1"}
