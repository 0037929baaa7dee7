"""Long lists in WeCom: /rank a page at a time and /project found by words of a name, the page turned with
the card's buttons or a numbered list's number. The Telegram side: tests/e2e/test_many_projects.py."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from handlers import digest
from storage import people
from storage.models import Project
from tests.wecom.harness import HAO, WeComHarness


async def test_rank_pages_and_project_search_in_wecom(wecom: WeComHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "RANK_PAGE", 20)
    await wecom.bind(HAO, "郝芳")
    async with wecom.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        await session.execute(update(Project).values(liaison_id=hao.id))
    found = await wecom.send(HAO, "/project ZD2026-00")
    assert "编号或名称含「ZD2026-00」的项目共 9 个（第 1/2 页）" in found, found
    turned = await wecom.press(HAO, "下一页")  # eight projects and 下一页: a numbered list
    assert "第 2/2 页" in turned, turned
    first = await wecom.send(HAO, "/rank")
    assert "第 1/3 页" in first and "下一页" in first.buttons, first
    second = await wecom.press(HAO, "下一页")
    assert "第 2/3 页" in second and "当前排名" in second, second
    card = await wecom.send(HAO, "/project ZD2026-009")
    assert "ZD2026-009" in card and "完成率" in card, card
