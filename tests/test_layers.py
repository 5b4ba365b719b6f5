"""The layers hold: adapters and web pages only translate (no SQL), handlers do not
reach up into the web pages, and the core does not depend on the screening rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRANSLATING = ("bot/adapters", "bot/web")
# SQLAlchemy's and SQLModel's query builders; their types (AsyncSession) are welcome.
QUERY_BUILDERS = frozenset(
    {"select", "update", "delete", "insert", "func", "text", "col", "or_", "and_"}
)
SESSION_CALLS = frozenset(
    {"add", "add_all", "get", "delete", "execute", "flush", "merge", "scalar", "scalars"}
)


def _modules(*packages: str) -> Iterator[tuple[str, ast.Module]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """Every import, function-level ones too: (line, module, names imported from it)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)


def _imports_module(module: str, names: tuple[str, ...], target: str) -> bool:
    """Whether an import of ``names`` from ``module`` brings in ``target`` (or a part)."""
    parent, _dot, last = target.rpartition(".")
    return (
        module == target or module.startswith(f"{target}.") or (module == parent and last in names)
    )


def _sql_in(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for line, module, names in _imports(tree):
        if module.split(".")[0] not in ("sqlalchemy", "sqlmodel"):
            continue
        if not names:
            yield line, f"import {module}"
        for name in sorted(QUERY_BUILDERS.intersection(names)):
            yield line, f"from {module} import {name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method, owner = node.func.attr, node.func.value
        if method == "execute":
            yield node.lineno, ".execute(...)"
        elif (
            method in SESSION_CALLS
            and isinstance(owner, ast.Name)
            and owner.id.lstrip("_").endswith("session")
        ):
            yield node.lineno, f"{owner.id}.{method}(...)"


def test_adapters_and_web_pages_hold_no_sql() -> None:
    found = [
        f"{path}:{line}: {what}"
        for path, tree in _modules(*TRANSLATING)
        for line, what in _sql_in(tree)
    ]
    assert not found, "queries belong in storage/ or bot/review/:\n" + "\n".join(found)


def test_the_guard_sees_sql() -> None:
    """The check above would see a query if one came back."""
    tree = ast.parse(
        "from sqlalchemy import select\n"
        "from sqlmodel import col\n"
        "import sqlalchemy\n"
        "async def f(session, db):\n"
        "    await session.execute(select(X))\n"
        "    session.add(X())\n"
        "    await db.execute('SELECT 1')\n"
    )
    assert sorted(line for line, _what in _sql_in(tree)) == [1, 2, 3, 5, 6, 7]
    harmless = ast.parse(
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def f(http, headers):\n"
        "    await http.get('https://example.org')\n"
        "    headers.update({})\n"
    )
    assert list(_sql_in(harmless)) == []


def _importers(packages: tuple[str, ...], target: str) -> list[str]:
    return [
        f"{path}:{line}: {module}"
        for path, tree in _modules(*packages)
        for line, module, names in _imports(tree)
        if _imports_module(module, names, target)
    ]


def test_handlers_never_import_the_web_pages() -> None:
    found = _importers(("bot/handlers",), "bot.web")
    assert not found, "\n".join(found)


def test_the_core_never_imports_the_screening_rules() -> None:
    # The core knows screening by its protocol (moderation.screening_api) only.
    found = _importers(("bot/core",), "moderation.screening")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("module", "names", "expected"),
    [
        ("bot.web.export", ("issue_export_link",), True),
        ("bot.web", (), True),
        ("bot", ("web",), True),
        ("bot", ("core",), False),
        ("bot.webchat", (), False),
        ("moderation.screening_api", ("Screening",), False),
    ],
)
def test_an_import_of_a_package_is_seen_in_every_form(
    module: str, names: tuple[str, ...], expected: bool
) -> None:
    target = "moderation.screening" if module.startswith("moderation") else "bot.web"
    assert _imports_module(module, names, target) is expected
