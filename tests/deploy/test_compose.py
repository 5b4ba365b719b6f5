"""docker-compose.yml and the Dockerfile, read as text and YAML: nothing here builds an
image or starts a container (no Docker engine on this machine), so these tests show what
the files say, not that they run."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn.config
import yaml
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SETTINGS = {name.upper() for name in Settings.model_fields}
REPLICAS = ("bot1", "bot2")
# Variables the compose file reads that are not the bot's settings: the database's password
# (the db image's and the URL's) and the proxy's address and host ports. Each is documented
# in the README; the bot ignores them (its settings ignore unknown names in .env).
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "DOMAIN", "PROXY_HTTP_BIND", "PROXY_HTTPS_BIND"}
# Set on the replicas for the web server the bot runs in, not for the bot: uvicorn reads it.
SERVER_ONLY = {"FORWARDED_ALLOW_IPS"}
# The variables a real .env must hold for the stack to start (`${VAR:?...}`).
REQUIRED = {"IDENTITY_SECRET": "i" * 64, "SESSION_SECRET": "s" * 64}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MissingVariableError(Exception):
    """A `${VAR:?message}` whose variable is unset or empty."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one value: `${VAR}`, `${VAR:-default}` (nested),
    `${VAR-default}`, `${VAR:?error}`, `${VAR?error}` and `$$`; other forms are refused."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            expression = text[i + 2 : j - 1]
            name = NAME.match(expression)
            assert name is not None, expression
            value, rest = env.get(name.group()), expression[name.end() :]
            if rest == "":
                out.append(value or "")
            elif rest.startswith((":-", "-")):
                unset = not value if rest.startswith(":") else value is None
                default = rest.split("-", 1)[1]
                out.append(interpolate(default, env) if unset else str(value))
            elif rest.startswith((":?", "?")):
                if not value if rest.startswith(":") else value is None:
                    raise MissingVariableError(rest.split("?", 1)[1])
                out.append(str(value))
            else:
                raise AssertionError(f"a form this reader does not know: ${{{expression}}}")
            i = j
        elif text[i] == "$" and NAME.match(text, i + 1):
            raise AssertionError(f"a bare $NAME (write ${{NAME}}): {text}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def resolved(node: Any, env: dict[str, str]) -> Any:
    """The compose file's tree with every string interpolated against ``env``."""
    if isinstance(node, dict):
        return {key: resolved(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value, env) for value in node]
    return interpolate(node, env) if isinstance(node, str) else node


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml parsed, then interpolated as `docker compose` would with ``env``
    (the shell and .env together); by default a .env holding only the required secrets."""
    return resolved(yaml.safe_load(COMPOSE.read_text()), REQUIRED if env is None else env)


def mount_source(volume: str) -> tuple[str, str]:
    source, target = volume.split(":")[:2]
    return source, target


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-${B:-y}}", {}, "y"),
        ("${A:-${B:-y}}", {"B": "b"}, "b"),
        ("${A:-${B:-y}}", {"A": "a", "B": "b"}, "a"),
        ("$${A}:${A}", {"A": "a"}, "${A}:a"),
        ("${A:?missing}", {"A": "a"}, "a"),
    ],
)
def test_the_interpolation_read_here_is_compose_s(
    text: str, env: dict[str, str], expected: str
) -> None:
    # Compose's documented rules (Compose file reference, "Interpolation").
    assert interpolate(text, env) == expected


def test_the_stack_is_postgres_a_migration_two_replicas_and_a_proxy() -> None:
    assert set(compose()["services"]) == {"db", "migrate", *REPLICAS, "proxy"}


def test_database_replicas_and_proxy_each_have_a_health_check() -> None:
    services = compose()["services"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    for name in REPLICAS:
        # Readiness (/readyz): what the proxy asks before sending a replica traffic.
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert "http://127.0.0.1:2019/" in " ".join(services["proxy"]["healthcheck"]["test"])


def test_the_migration_runs_once_and_the_replicas_wait_for_it_and_for_the_database() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["together-bot", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    # The same image as the replicas, so the migrations are the code's own.
    assert {migrate["image"]} == {services[name]["image"] for name in REPLICAS}
    for name in REPLICAS:
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        url = services[name]["environment"]["DATABASE_URL"]
        assert url == migrate["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://together:together@db:5432/")


def test_every_variable_the_compose_file_sets_or_reads_is_a_setting() -> None:
    text = COMPOSE.read_text()
    read = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert read - COMPOSE_ONLY <= SETTINGS
    assert not COMPOSE_ONLY & SETTINGS
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(COMPOSE_ONLY) if f"`{name}`" not in readme] == []
    services = compose()["services"]
    for name in ("migrate", *REPLICAS):
        assert set(services[name]["environment"]) - SERVER_ONLY <= SETTINGS
        assert [e["path"] for e in services[name]["env_file"]] == [".env"]


def test_the_server_variables_are_uvicorn_s_own() -> None:
    source = inspect.getsource(uvicorn.config.Config)
    assert all(f'"{name}"' in source for name in SERVER_ONLY)
    assert not SERVER_ONLY & SETTINGS


async def test_behind_the_proxy_a_replica_sees_the_browser_s_scheme() -> None:
    # A replica's same-origin checks compare the browser's Origin (https://...) with the
    # scheme it sees: over the compose network the proxy's address is not loopback, so
    # uvicorn must be told to believe the proxy's X-Forwarded-Proto.
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"{scope['scheme']}://{scope['client'][0]}")

    for name in REPLICAS:
        trusted = compose()["services"][name]["environment"]["FORWARDED_ALLOW_IPS"]
        scope = {
            "type": "http",
            "scheme": "http",
            "client": ("172.18.0.6", 40000),  # the proxy, on the compose network
            "headers": [(b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"203.0.113.9")],
        }
        await ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None)
    assert seen == ["https://203.0.113.9"] * len(REPLICAS)


def test_the_shared_secrets_are_required_not_generated_per_replica() -> None:
    for missing in REQUIRED:
        with pytest.raises(MissingVariableError, match=missing):
            compose({k: v for k, v in REQUIRED.items() if k != missing})
    services = compose()["services"]
    for name in REPLICAS:
        env = services[name]["environment"]
        assert (env["IDENTITY_SECRET"], env["SESSION_SECRET"]) == tuple(REQUIRED.values())


def test_telegram_runs_as_a_webhook_on_every_replica() -> None:
    for env, expected in [
        (REQUIRED, "http://127.0.0.1:8080"),
        (
            {**REQUIRED, "PUBLIC_URL": "https://together.example.org"},
            "https://together.example.org",
        ),
        (
            {
                **REQUIRED,
                "PUBLIC_URL": "https://a.example",
                "TELEGRAM_WEBHOOK_URL": "https://b.example",
            },
            "https://b.example",
        ),
        # An empty line in .env (as .env.example has) is not a URL: the default holds.
        ({**REQUIRED, "TELEGRAM_WEBHOOK_URL": "", "PUBLIC_URL": ""}, "http://127.0.0.1:8080"),
    ]:
        services = compose(env)["services"]
        for name in REPLICAS:
            assert services[name]["environment"]["TELEGRAM_WEBHOOK_URL"] == expected


def test_only_the_proxy_publishes_a_port_and_by_default_on_loopback() -> None:
    services = compose()["services"]
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    assert services["proxy"]["ports"] == ["127.0.0.1:8080:80", "127.0.0.1:8443:443"]
    public = compose({**REQUIRED, "PROXY_HTTP_BIND": "80", "PROXY_HTTPS_BIND": "443"})
    assert public["services"]["proxy"]["ports"] == ["80:80", "443:443"]
    for name in ("db", "migrate", *REPLICAS):
        assert "network_mode" not in services[name]


def test_both_replicas_mount_one_named_media_volume_at_data_dir() -> None:
    document = compose()
    services = document["services"]
    mounts: set[tuple[str, str]] = set()
    for name in REPLICAS:
        data_dir = services[name]["environment"]["DATA_DIR"]
        mounts |= {
            mount_source(v) for v in services[name]["volumes"] if mount_source(v)[1] == data_dir
        }
    assert len(mounts) == 1
    ((volume, target),) = mounts
    assert volume in document["volumes"]  # a named volume, not a directory of one host
    # The image makes that mount point and gives it to its user, so the volume starts so.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"DATA_DIR={target}" in dockerfile
    assert re.search(rf"chown (10001|together)(:\S+)? {re.escape(target)}\b", dockerfile)


def test_the_proxy_config_balances_both_replicas_on_their_readiness() -> None:
    proxy = compose()["services"]["proxy"]
    assert proxy["image"].startswith("caddy:")
    (config,) = [v for v in proxy["volumes"] if mount_source(v)[1] == "/etc/caddy/Caddyfile"]
    caddyfile = (ROOT / mount_source(config)[0]).read_text()
    port = compose()["services"]["bot1"]["environment"]["PORT"]
    upstreams = re.search(r"^\s*reverse_proxy (.+) \{$", caddyfile, re.MULTILINE)
    assert upstreams is not None
    assert upstreams.group(1).split() == [f"{name}:{port}" for name in REPLICAS]
    assert re.search(r"^\s*health_uri /readyz$", caddyfile, re.MULTILINE)
    # Its site address is the one the compose file gives it: `:80`, or the domain.
    assert "{$SITE_ADDRESS} {" in caddyfile
    assert proxy["environment"]["SITE_ADDRESS"] == ":80"
    domain = compose({**REQUIRED, "DOMAIN": "together.example.org"})["services"]["proxy"]
    assert domain["environment"]["SITE_ADDRESS"] == "together.example.org"


def test_dockerfile_runs_as_a_user_that_is_not_root() -> None:
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_compiles_the_catalogs_before_installing_the_package() -> None:
    # The installed package (site-packages) is what runs: a catalog compiled into /app
    # after the install would never be read, and every reply would be in English.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.index("pybabel compile") < dockerfile.index("pip install --no-cache-dir .")


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
