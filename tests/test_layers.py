"""The layers' import rules, read from every module's source with ``ast`` (nothing is imported).

- ``storage/`` is the bottom layer: from ``bot`` it imports only the pure rules and types of
  ``bot.domain`` and the clock (``bot.clock``).
- ``handlers/`` and ``bot/domain/`` know no chat channel: they never import ``telegram``.
- ``bot/domain/`` and the ledger reader (``bot/ledger/``, run in the import worker) never import ``storage``
  (nor, through it, the models and SQLAlchemy).

Imports inside functions and under ``TYPE_CHECKING`` count like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STORAGE_MAY_IMPORT = ("bot.domain", "bot.clock")
# Allowances for storage modules that still import an upper layer: none left (the ledger import's row types
# are in bot.domain.ledger_rows). A new one needs a reason here.
STORAGE_EXCEPTIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    """``storage/outbox.py`` → ``storage.outbox``; a package's ``__init__.py`` → the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> Iterator[str]:
    """Every module an import statement in ``source`` names, relative imports resolved.

    ``from a.b import c`` yields ``a.b.c`` (``c`` may be a module or a name in ``a.b``: both are below
    ``a.b``, which is all the rules ask).
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                yield f"{base}.{alias.name}" if alias.name != "*" else base


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether module ``name`` is one of ``prefixes`` or below one of them."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def imports_of(folder: str) -> Iterator[tuple[str, str]]:
    """(file relative to the project, imported module) for every .py file under ``folder``."""
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for name in imported_modules(path.read_text(encoding="utf-8"), module_name(path),
                                     is_package=path.name == "__init__.py"):
            yield relative, name


def storage_violations() -> list[tuple[str, str]]:
    return [
        (file, name) for file, name in imports_of("storage")
        if within(name, ("bot",)) and not within(name, STORAGE_MAY_IMPORT)
        and not any(file == f and within(name, (m,)) for f, m in STORAGE_EXCEPTIONS)
    ]


def test_storage_imports_only_the_domain_and_the_clock_from_bot() -> None:
    assert len(list(imports_of("storage"))) > 50  # the walk did find storage's modules
    assert storage_violations() == []


def test_the_storage_exceptions_are_still_needed() -> None:
    """An allowance nobody uses any more is dropped rather than left to cover a new violation."""
    used = {(file, prefix) for file, name in imports_of("storage")
            for f, prefix in STORAGE_EXCEPTIONS if file == f and within(name, (prefix,))}
    assert used == STORAGE_EXCEPTIONS


@pytest.mark.parametrize("folder", ["handlers", "bot/domain"])
def test_no_channel_library_in_handlers_or_the_domain(folder: str) -> None:
    modules = list(imports_of(folder))
    assert modules  # the folder has modules with imports
    assert [(file, name) for file, name in modules if within(name, ("telegram",))] == []


@pytest.mark.parametrize("folder", ["bot/domain", "bot/ledger"])
def test_the_domain_and_the_ledger_reader_import_no_storage(folder: str) -> None:
    modules = list(imports_of(folder))
    assert modules  # the folder has modules with imports
    assert [(file, name) for file, name in modules if within(name, ("storage", "sqlalchemy"))] == []


@pytest.mark.parametrize(("source", "expected"), [
    ("import bot.weekly", "bot.weekly"),
    ("from bot.weekly import assemble", "bot.weekly.assemble"),
    ("from bot import weekly", "bot.weekly"),
    ("def f():\n    from bot.messages import Reply", "bot.messages.Reply"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import telegram", "telegram"),
    ("from ..models import Person", "storage.models.Person"),
])
def test_every_kind_of_import_is_seen(source: str, expected: str) -> None:
    assert expected in set(imported_modules(source, "storage.sub.module"))


def test_a_storage_module_importing_the_upper_layers_is_a_violation() -> None:
    names = set(imported_modules("from bot.weekly import gc_paused\nfrom .models import Person",
                                 "storage.standings"))
    assert {"bot.weekly.gc_paused", "storage.models.Person"} <= names
    bad = [n for n in names if within(n, ("bot",)) and not within(n, STORAGE_MAY_IMPORT)]
    assert bad == ["bot.weekly.gc_paused"]
    assert not within("bot.domainx", STORAGE_MAY_IMPORT)
    assert within("bot.domain.amounts", STORAGE_MAY_IMPORT)
