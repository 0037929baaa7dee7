"""A liaison who looks after many projects, through the real python-telegram-bot Application and the fake Bot
API, which refuses what Telegram refuses: a keyboard of more than 100 buttons, more than 8 to a row, or about
10 KB. The project buttons of /report, /issue and /correct come a page at a time, and turning the page keeps
what the flow holds (the photo sent with /report). /mine and /rank show a long list a page at a time.

郝芳 (1001) is made the liaison of every project of the sample ledger (42), each with a long name.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from handlers import digest, lookup
from storage import people
from storage.models import Project
from tests.e2e.harness import TelegramHarness
from tests.fakes.bot_api import keyboard_labels

HAO = 1001
LONG = "配套基础设施建设工程" * 8
PLACE = re.compile(r"(ZD\S+) [^\n]*?：(?:第 (\d+)/\d+ 名|不参与排名)")  # a /rank line: code and place


async def liaison_of_all(tg: TelegramHarness) -> list[str]:
    await tg.bind(HAO, "郝芳")
    async with tg.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        codes = list((await session.scalars(select(Project.code).order_by(Project.code))).all())
        for n, code in enumerate(codes):
            await session.execute(
                update(Project).where(Project.code == code).values(liaison_id=hao.id, name=f"第{n}号<片区>&{LONG}")
            )
    return codes


def project_labels(replies) -> list[str]:
    return [label for label in replies.buttons if label.startswith("ZD")]


async def test_each_guided_flow_offers_the_projects_a_page_at_a_time(telegram: TelegramHarness) -> None:
    codes = await liaison_of_all(telegram)
    assert len(codes) > 40
    for command in ("/report", "/issue", "/correct"):
        first = await telegram.send(HAO, command)
        assert f"共 {len(codes)} 个项目，第 1/5 页" in first, first
        seen = project_labels(first)
        for number in range(2, 6):
            turned = await telegram.press(HAO, "下一页")
            assert f"第 {number}/5 页" in turned, turned
            seen += project_labels(turned)
        assert "下一页" not in turned.buttons and "上一页" in turned.buttons
        assert [label.split()[0] for label in seen] == codes  # each project once, in order
        assert (await telegram.press(HAO, "上一页")).buttons[:1] == [seen[30]]
        await telegram.send(HAO, "/cancel")
    for call in telegram.fake.calls_of("sendMessage", chat_id=HAO):
        assert sum(len(row) for row in keyboard_labels(call)) <= 13  # ten projects, the page turns, 取消


async def test_turning_the_page_keeps_the_photo_sent_with_report_and_the_picked_project_is_asked(
    telegram: TelegramHarness,
) -> None:
    codes = await liaison_of_all(telegram)
    started = await telegram.photo(HAO, "/report")
    assert "已收到照片 1 张" in started and "第 1/5 页" in started
    turned = await telegram.press(HAO, "下一页")
    assert "已收到照片 1 张" in turned and "第 2/5 页" in turned
    [label] = [b for b in turned.buttons if b.startswith(codes[12])]
    asked = await telegram.press(HAO, label)
    assert "请输入本期完成投资" in asked and codes[12] in asked
    await telegram.send(HAO, "850")
    await telegram.send(HAO, "桩基完成")
    done = await telegram.press(HAO, "完成（不再上传照片）")
    assert "现场照片：1 张" in done, done


async def test_mine_shows_a_long_list_a_page_at_a_time_with_the_days_count(
    telegram: TelegramHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin's /mine lists every project of the district: ten thousand lines would be a hundred messages."""
    monkeypatch.setattr(lookup, "MINE_PAGE", 20)
    codes = await liaison_of_all(telegram)
    await telegram.send(HAO, f"/report {codes[0]} 850 桩基施工")

    first = await telegram.send(HAO, "/mine")
    assert len(first.messages) == 1 and first.buttons == ["下一页"]
    assert "共 42 个，今日未填报" in first and "第 1/3 页" in first
    assert codes[0] in first and codes[19] in first and codes[20] not in first
    second = await telegram.press(HAO, "下一页")
    assert "第 2/3 页" in second and codes[20] in second and codes[0] not in second
    assert second.buttons == ["上一页", "下一页"]
    last = await telegram.press(HAO, "下一页")
    assert "第 3/3 页" in last and codes[-1] in last and last.buttons == ["上一页"]


async def test_rank_shows_a_long_list_a_page_at_a_time_with_the_districts_places(
    telegram: TelegramHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader's or a liaison's /rank lists each of his projects with its place: 300 would be seven messages."""
    monkeypatch.setattr(digest, "RANK_PAGE", 20)
    codes = await liaison_of_all(telegram)
    first = await telegram.send(HAO, "/rank")
    assert len(first.messages) == 1 and "下一页" in first.buttons and "上一页" not in first.buttons
    assert "当前排名" in first and "共 42 个，第 1/3 页" in first, first.text
    places = {}
    pages = [first, await telegram.press(HAO, "下一页"), await telegram.press(HAO, "下一页")]
    for number, page in enumerate(pages, start=1):
        assert "当前排名" in page and "序时进度" in page and f"第 {number}/3 页" in page, page.text
        places |= dict(PLACE.findall(page.text))
    assert "下一页" not in pages[-1].buttons and "上一页" in pages[-1].buttons
    assert sorted(places) == codes  # each project once, over the three pages
    ranked = [int(place) for place in places.values() if place]
    assert len(ranked) > 20 and max(ranked) > 20, "the places are the district's, not the page's"


async def test_project_finds_by_name_one_match_its_card_several_a_page_of_buttons(telegram: TelegramHarness) -> None:
    """/project takes words of a name as /correct and /node do, not only a code."""
    codes = await liaison_of_all(telegram)
    one = await telegram.send(HAO, "/project 第7号")
    assert codes[7] in one and "完成率" in one and "没有找到" not in one, one.text
    several = await telegram.send(HAO, "/project 片区")
    assert "编号或名称含「片区」的项目共 42 个（第 1/6 页）" in several, several.text
    assert [label.split()[0] for label in project_labels(several)] == codes[:8]
    assert "下一页" in several.buttons and "上一页" not in several.buttons
    turned = await telegram.press(HAO, "下一页")
    assert "第 2/6 页" in turned and [label.split()[0] for label in project_labels(turned)] == codes[8:16]
    card = await telegram.press(HAO, project_labels(turned)[0])
    assert codes[8] in card and "完成率" in card, card.text
    missing = await telegram.send(HAO, "/project 体育馆")
    assert "没有找到编号或名称含「体育馆」的项目" in missing, missing.text
    refused = await telegram.send(HAO, f"/project {codes[0]} 进度")
    assert "没有看懂「进度」" in refused, refused.text
