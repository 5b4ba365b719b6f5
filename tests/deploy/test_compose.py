"""docker-compose.yml and the Dockerfile, read as text and YAML: nothing here builds an
image or starts a container (no Docker engine on this machine), so these tests show what
the files say, not that they run."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_parsed_as_yaml_wires_the_bot_to_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "bot"}
    bot, db = services["bot"], services["db"]
    env = bot["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in env["DATABASE_URL"]
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 - inside the container, published on loopback
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert all(p.startswith("127.0.0.1:") for p in bot["ports"])
    for name, volume in [("bot", "botdata"), ("db", "pgdata")]:
        assert any(str(v).startswith(f"{volume}:") for v in services[name]["volumes"])
    assert set(compose["volumes"]) == {"botdata", "pgdata"}
    # Every variable the compose file sets is a real setting.
    known = {name.upper() for name in Settings.model_fields}
    assert set(env) <= known


def test_dockerfile_text_copies_and_compiles_what_the_package_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    for part in ("COPY bot ", "COPY storage ", "COPY moderation ", "pybabel compile", "USER "):
        assert part in dockerfile
    assert 'CMD ["together-bot", "run"]' in dockerfile


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert listed == {name.upper() for name in Settings.model_fields}


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert missing == []
