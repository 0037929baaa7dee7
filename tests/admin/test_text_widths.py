"""A text longer than its field holds, typed in a chat command or on the command line: refused in words that name
the field, its width and the text's length (bot.domain.text_widths), nothing written. Through the Router with console
accounts on a copy of the sample ledger, and `diaodu groups add`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.__main__ import main
from storage.migrate import upgrade
from storage.models import BulletinGroup, CalendarOverride, ProjectNode
from tests.admin.admin_support import Desk
from tests.admin.test_admin_projects import CODE, admin, project


async def _count(desk: Desk, model: type) -> int:
    async with desk.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_project_set_refuses_a_name_or_category_longer_than_its_column(desk: Desk) -> None:
    before = await project(desk)
    said = await admin(desk, f"/project_set {CODE} 项目名称 {'城' * 201}")
    assert "项目名称最多 200 个字，这里有 201 个字，未修改" in said, said
    said = await admin(desk, f"/project_set {CODE} 类别 {'工' * 51}")
    assert "项目类别最多 50 个字，这里有 51 个字，未修改" in said, said
    after = await project(desk)
    assert (after.name, after.category) == (before.name, before.category)
    assert "城北新区连接线" in await admin(desk, f"/project_set {CODE} 项目名称 城北新区连接线")


async def test_node_calendar_and_group_names_longer_than_their_columns_are_refused(desk: Desk) -> None:
    nodes = await _count(desk, ProjectNode)
    said = await admin(desk, f"/node {CODE} 新增 {'节' * 51} 2027-03-31")
    assert "节点名称最多 50 个字，这里有 51 个字，未保存" in said, said
    assert await _count(desk, ProjectNode) == nodes
    said = await admin(desk, f"/calendar 2027-03-10 off {'运' * 51}")
    assert "节日名称最多 50 个字，这里有 51 个字" in said, said
    assert await _count(desk, CalendarOverride) == 0
    said = await admin(desk, f"/groups add -1001234567890 {'群' * 101}")
    assert "群名称最多 100 个字，这里有 101 个字，未保存" in said, said
    assert await _count(desk, BulletinGroup) == 0


def test_cli_groups_add_refuses_a_name_longer_than_its_column(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)  # no .env file to pick settings up from
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["groups", "add", "-1001234567890", "--name", "群" * 101]) == 1
    assert "群名称最多 100 个字，这里有 101 个字" in capsys.readouterr().err
    assert main(["groups", "list"]) == 0
    assert capsys.readouterr().out.strip() == "尚未设置接收通报的群。"
