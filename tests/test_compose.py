"""docker-compose.yml can't be run here (no Docker engine), so it is checked by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _cli_commands() -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return set(subparsers.choices)  # type: ignore[arg-type]


def test_services_and_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "api", "worker"):
        assert "test" in services[name]["healthcheck"], name


def test_api_waits_for_migration_and_redis() -> None:
    services = _compose()["services"]
    for name in ("api", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_commands_exist_in_the_cli() -> None:
    commands = _cli_commands()
    for name, service in _compose()["services"].items():
        if "build" not in service:
            continue
        argv = service["command"]
        assert argv[0] == "segments", name
        assert argv[1] in commands, f"{name} runs `segments {argv[1]}`, which the CLI lacks"
        build_parser().parse_args(argv[1:])  # the whole command line parses


def test_app_services_run_in_production_mode_on_postgres_and_redis() -> None:
    for name, service in _compose()["services"].items():
        if "build" in service:
            env = service["environment"]
            assert env["DATABASE_URL"].startswith("postgres://"), name
            assert env["REDIS_URL"].startswith("redis://"), name


def test_dockerfile_installs_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'CMD ["segments", "serve"]' in dockerfile


def test_one_beat_keeps_its_schedule_on_a_volume() -> None:
    compose = _compose()
    beat = compose["services"]["beat"]
    assert beat["command"][:2] == ["segments", "beat"]
    assert beat["deploy"]["replicas"] == 1
    state = beat["command"][beat["command"].index("--schedule-file") + 1]
    volume, _, mount = beat["volumes"][0].partition(":")
    assert state.startswith(mount + "/") and volume in compose["volumes"]
