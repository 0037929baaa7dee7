"""Texts longer than their column: every such column's width is its domain constant, and the ledger import
refuses an over-long cell as a row error naming row, column and width, writing nothing (SQLite and PostgreSQL:
PostgreSQL would refuse the whole import's transaction, SQLite would keep the text and leave a database
``diaodu db copy`` cannot copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import QueryableAttribute

from bot.clock import FrozenClock
from bot.domain.text_widths import WIDTHS, too_wide
from bot.services.ledger_import import import_ledger_files
from storage.audit import Actor
from storage.db import Database
from storage.models import BulletinGroup, CalendarOverride, Person, Project, ProjectNode, Unit

from .factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV
from .test_ledger_import import _rows, _write

# Field (as ``text_too_wide.j2`` names it) → the column its text is written to.
COLUMNS: dict[str, QueryableAttribute[Any]] = {
    "project_code": Project.code,
    "project_name": Project.name,
    "category": Project.category,
    "project_level": Project.level,
    "location": Project.location,
    "owner": Project.owner,
    "unit": Unit.name,
    "person_name": Person.name,
    "phone": Person.phone,
    "title": Person.title,
    "person_key": Person.ledger_key,
    "node_name": ProjectNode.name,
    "group_name": BulletinGroup.name,
    "robot_name": BulletinGroup.chat_id,
    "day_name": CalendarOverride.name,
}


def test_every_column_people_fill_is_as_wide_as_its_domain_constant() -> None:
    """The models' ``String(n)`` and the checks use one width, so a column cannot be widened or narrowed alone."""
    assert set(COLUMNS) == set(WIDTHS)
    lengths = {}
    for field, attribute in COLUMNS.items():
        kind = attribute.expression.type
        assert isinstance(kind, String), field
        lengths[field] = kind.length
    assert lengths == WIDTHS
    assert WIDTHS["person_name"] == Person.__table__.c.name.type.length == 50
    assert WIDTHS["project_name"] == Project.__table__.c.name.type.length == 200
    assert WIDTHS["unit"] == Unit.__table__.c.name.type.length == 100


def test_too_wide_says_the_field_the_length_and_the_width() -> None:
    assert too_wide("person_name", "张" * 50) is None and too_wide("person_name", None) is None
    wide = too_wide("person_name", "张" * 51)
    assert wide is not None and (wide.field, wide.length, wide.most) == ("person_name", 51, 50)


async def test_an_over_long_cell_is_a_row_error_and_nothing_is_written(db: Database, clock: FrozenClock,
                                                                       actor: Actor, tmp_path: Path) -> None:
    projects, people = _rows(SAMPLE_PROJECTS_CSV), _rows(SAMPLE_PEOPLE_CSV)
    header = projects[0]
    first, second = projects[1], projects[2]
    first[header.index("项目名称")] = "城" * 201
    first[header.index("牵头单位")] = "局" * 101
    second[header.index("首办秘书(联络员)")] = "武" * 51
    second[header.index("项目业主")] = "公" * 201
    people[3][people[0].index("单位/职务")] = "局" * 101
    files = [_write(tmp_path / "projects.csv", projects), _write(tmp_path / "people.csv", people)]

    result = await import_ledger_files(db, clock, files, actor=actor)

    said = [str(issue) for issue in result.issues]
    for line in ("「projects.csv」第2行【项目名称】：项目名称最多 200 个字，这里有 201 个字",
                 "「projects.csv」第2行【牵头单位】：单位名称最多 100 个字，这里有 101 个字",
                 "「projects.csv」第3行【首办秘书(联络员)】：姓名最多 50 个字，这里有 51 个字",
                 "「projects.csv」第3行【项目业主】：业主单位最多 200 个字，这里有 201 个字",
                 "「people.csv」第4行【单位/职务】：单位名称最多 100 个字，这里有 101 个字"):
        assert line in said, said
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Project)) == 0
        assert await session.scalar(select(func.count()).select_from(Person)) == 0


async def test_what_the_check_keeps_out_postgresql_would_refuse(db: Database, clock: FrozenClock) -> None:
    """Why the check is needed: a name one character too long is kept by SQLite, refused by PostgreSQL."""
    async def write() -> None:
        async with db.session() as session:
            session.add(Unit(name="局" * (WIDTHS["unit"] + 1), created_at=clock.now()))

    if db.is_sqlite:
        await write()
    else:
        with pytest.raises(DBAPIError):
            await write()
