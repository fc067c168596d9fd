"""docker-compose.yml and the Dockerfile keep their promises (no Docker engine needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

DATABASE_URL = "postgresql+psycopg://nasboard:nasboard@postgres:5432/nasboard"
BROKER_URL = "redis://redis:6379/0"
APP_SERVICES = ("migrate", "api", "worker", "worker-gpu")


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.fail(
            "check-jsonschema is not installed (it is in the `dev` extra):"
            " run `bash scripts/setup.sh dev`",
            pytrace=False,
        )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def test_compose_file_matches_the_compose_spec() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  api:\n    image: x\n    depends_on: 7\n    bogus_key: 1\n")
    result = check_compose_schema(broken)
    assert result.returncode != 0, "the validator accepted an invalid compose file"


def test_postgres_and_redis_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "pg_isready" in _healthcheck_text(services["postgres"])
    assert services["redis"]["image"].startswith("redis:7")
    assert "redis-cli" in _healthcheck_text(services["redis"])
    assert "ping" in _healthcheck_text(services["redis"])


def test_redis_never_evicts_and_persists(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["redis"])
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(str(v).endswith(":/data") for v in services["redis"].get("volumes", []))


def test_migrate_is_a_one_shot_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert _command(migrate) == ["nasboard", "db", "upgrade"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["api", "worker", "worker-gpu"])
def test_app_services_wait_for_migrations_and_redis(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    depends = services[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"


def test_api_serves_on_all_interfaces_with_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    command = _command(api)
    assert command[:2] == ["nasboard", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    assert "/api/health" in _healthcheck_text(api)
    assert any(str(p).endswith(":8000") for p in api["ports"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_configuration_and_data(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    env = service["environment"]
    assert env["NASBOARD_DATABASE_URL"] == DATABASE_URL
    assert env["NASBOARD_BROKER_URL"] == BROKER_URL
    assert env["NASBOARD_DATA_DIR"] == "/data"
    assert env["NASBOARD_AUTH"] == "required"
    assert "nasboard-data:/data" in service["volumes"]
    assert "build" in service


def test_workers_scale_out(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "worker-gpu"):
        worker = services[name]
        assert _command(worker) == ["nasboard", "worker", "--concurrency", "1"]
        # `--scale worker=N` needs containers without fixed names or host ports.
        assert "container_name" not in worker
        assert "ports" not in worker


def test_gpu_worker_reserves_an_nvidia_gpu(services: dict[str, dict[str, Any]]) -> None:
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["build"]["args"]["EXTRAS"] == "gpu"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    # The CPU worker needs no GPU.
    assert "deploy" not in services["worker"]
    assert services["worker"]["build"]["args"]["EXTRAS"] == "tf"


def test_volumes_are_declared(compose: dict[str, Any]) -> None:
    assert {"postgres-data", "redis-data", "nasboard-data"} <= set(compose["volumes"])


def test_dockerfile_installs_the_dataset_and_the_extras() -> None:
    text = DOCKERFILE.read_text()
    assert text.splitlines()[0].startswith("# syntax=")
    assert "FROM python:3.11-slim" in text
    assert "dataset-fashion-mnist" in text
    assert "ARG EXTRAS=tf" in text
    assert '".[$EXTRAS]"' in text
    assert "-c constraints.txt" in text  # the versions the suite passed on
    assert "playwright install" not in text
