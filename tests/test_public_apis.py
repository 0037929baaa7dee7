"""The project uses its libraries through their public APIs only: no reaching into a third-party object's
private members (``conn._conn``, ``connection._thread``), no overriding them (``def _execute`` in a
subclass), no subclassing a database driver's classes. Checked over the program's own Python (bot/,
handlers/, jobs/, storage/, bench/) by reading the source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "jobs", "storage", "bench")

# Known ways of leaning on internals, each a pattern and what it means.
FORBIDDEN = [
    (re.compile(r"(?<!\bself)\._conn\b"), "a driver connection's private sqlite3 connection"),
    (re.compile(r"(?<!\bself)\._thread\b"), "aiosqlite's private worker thread"),
    (re.compile(r"(?<!\bself)\._execute\b"), "aiosqlite's private _execute"),
    (re.compile(r"\bdef _execute\b"), "an override of a private _execute"),
    (re.compile(r"\bclass \w+\(\s*(aiosqlite|sqlite3|asyncpg|psycopg)\.\w+"), "a subclass of a driver class"),
    (re.compile(r"\bclass \w+\([^)]*\b(Connection|Cursor)\)"), "a subclass of a connection or cursor class"),
    (re.compile(r"\b_client_kwargs\b|\b_sa_\w+|\b_dbapi_connection\b"), "a library's private attribute"),
]
# `something._name` where `something` is not our own object: flagged unless `_name` is a private member
# the project defines itself (a `def`, a class, a module-level name, or `self._name`/`cls._name`).
ATTRIBUTE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\._([a-z]\w*)\b")
OWN_OBJECTS = {"self", "cls", "super"}
# Public despite the underscore: namedtuple's documented methods (named so to never clash with a field).
PUBLIC_UNDERSCORED = {"_make", "_asdict", "_replace", "_fields", "_field_defaults"}
# The project's own marker on a LogRecord (bot/ops/logs.py): an attribute it adds, not one of logging's.
ALLOWED = {("record", "_redacted")}


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO / package).rglob("*.py")
                  if "migrations" not in path.parts or path.name != "env.py")


def _own_private_names(sources: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\b(?:def|class)\s+(_\w+)", text))
        names |= set(re.findall(r"^(_\w+)\s*[:=]", text, flags=re.MULTILINE))
        names |= set(re.findall(r"\b(?:self|cls)\.(_\w+)", text))
        names |= set(re.findall(r"^\s+(_\w+)\s*:", text, flags=re.MULTILINE))  # dataclass fields
    return names


def _findings() -> list[str]:
    sources = _sources()
    own = _own_private_names(sources)
    found: list[str] = []
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            where = f"{path.relative_to(REPO)}:{number}"
            found += [f"{where}: {what}: {line.strip()}" for pattern, what in FORBIDDEN if pattern.search(code)]
            for owner, name in ATTRIBUTE.findall(code):
                private = f"_{name}"
                if owner in OWN_OBJECTS or private in own | PUBLIC_UNDERSCORED or (owner, private) in ALLOWED:
                    continue
                found.append(f"{where}: private attribute {owner}.{private}: {line.strip()}")
    return found


def test_no_third_party_private_members_are_used_or_overridden() -> None:
    assert _findings() == []


@pytest.mark.parametrize("line", [
    "raw = connection.driver_connection._conn",
    "thread = connection._thread",
    "    async def _execute(self, fn, *args):",
    "class Fast(aiosqlite.Connection):",
    "client = getattr(app.bot.request, '_client_kwargs', {})",
    "value = engine._private_thing",
])
def test_the_check_catches_each_kind(line: str, tmp_path: Path) -> None:
    """Each kind of finding is caught on a line of its own (so the check above means something)."""
    caught = any(pattern.search(line) for pattern, _ in FORBIDDEN) or any(
        f"_{name}" not in _own_private_names(_sources()) and owner not in OWN_OBJECTS
        for owner, name in ATTRIBUTE.findall(line))
    assert caught
