"""Long lists in WeCom: /rank a page at a time and /project found by words of a name, the page turned with
the card's buttons or a numbered list's number. The Telegram side: tests/e2e/test_many_projects.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

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


async def _liaison_of(wecom: WeComHarness, count: int) -> None:
    """郝芳 bound, and the liaison of the first `count` projects."""
    await wecom.bind(HAO, "郝芳")
    async with wecom.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        codes = (await session.scalars(select(Project.code).order_by(Project.code).limit(count))).all()
        await session.execute(update(Project).where(Project.code.in_(codes)).values(liaison_id=hao.id))


async def test_a_hint_after_a_numbered_list_asks_for_the_number_and_the_number_still_picks(
        wecom: WeComHarness) -> None:
    """Ten projects to a page are too many for a card: WeCom shows them numbered. Words typed instead are answered
    to reply with the number (there is no button to press), and the list still stands: the number picks."""
    await _liaison_of(wecom, 9)
    listed = await wecom.send(HAO, "/report")
    assert "回复序号选择" in listed and "[1] ZD2026-001" in listed, listed
    hint = await wecom.send(HAO, "城北")
    assert "请回复上面列表中的序号选择项目，或发送 /cancel 取消" in hint and "点击" not in hint, hint
    picked = await wecom.send(HAO, "1")
    assert "ZD2026-001" in picked and "本期完成投资" in picked, picked


async def test_a_hint_after_a_card_says_to_press_its_button(wecom: WeComHarness) -> None:
    """Two projects make a card with buttons: the hint says to press one."""
    await _liaison_of(wecom, 2)
    card = await wecom.send(HAO, "/report")
    assert card.cards and "回复序号选择" not in card, card
    hint = await wecom.send(HAO, "城北")
    assert "请点击上面的按钮选择项目，或发送 /cancel 取消" in hint, hint
