"""Albums sent during a guided flow, by people not bound, and to a bot behind a backlog, through the real
python-telegram-bot Application and the fake Bot API: an album is handled as one (its photos kept by a flow
that takes photos, answered once), never lost silently and never answered once per photo.

郝芳 (1001) is the liaison of ZD2026-001; the clock is Friday 2026-11-20 10:00, a working day.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import SHANGHAI
from bot.domain.albums import ALBUM_WAIT
from storage.models import NodePhoto, Problem, ProblemPhoto, Project, ProjectNode
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_albums import (
    CODE,
    HAO,
    LINE,
    UNEXPLAINED,
    answer,
    deliver,
    notices_after,
    part,
    part_update,
    photo_files,
)

NODE = "路基完成"  # an open node of ZD2026-001
STRANGER = 4040  # nobody bound


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


async def node_photos(tg: TelegramHarness) -> list[str]:
    async with tg.session() as session:
        node = (
            await session.scalars(
                select(ProjectNode)
                .join(Project, Project.id == ProjectNode.project_id)
                .where(Project.code == CODE, ProjectNode.name == NODE)
            )
        ).one()
        photos = await session.scalars(
            select(NodePhoto.file_id).where(NodePhoto.node_id == node.id).order_by(NodePhoto.id)
        )
        return list(photos.all())


def today(tg: TelegramHarness) -> str:
    return tg.clock.now().astimezone(SHANGHAI).date().isoformat()


async def test_an_album_for_a_nodes_evidence_is_kept_whole_and_answered_once(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")
    await tg.press(HAO, f"今天完成（{today(tg)}）")
    parts = [part_update(tg.fake, "701") for _ in range(3)]
    for update in parts:
        assert (await deliver(tg, update)).messages == []  # not one answer per photo
    asked = await answer(tg)  # one answer, counting every photo
    assert "照片 3 张" in asked and "完成" in asked
    assert await notices_after(tg, minutes=5) == []
    assert "照片 3 张" in await tg.press(HAO, "完成")
    assert await node_photos(tg) == [u["message"]["photo"][0]["file_id"] for u in parts]
    tg.assert_nothing_failed()


async def test_a_button_pressed_before_the_albums_answer_went_out_takes_its_place(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")
    await tg.press(HAO, f"今天完成（{today(tg)}）")
    for _ in range(2):
        await part(tg, "710")
    assert "照片 2 张" in await tg.press(HAO, "完成")  # at once, before the album's answer was due
    assert await notices_after(tg, minutes=1) == []  # which would have offered 完成 again: taken back
    assert len(await node_photos(tg)) == 2


async def test_an_album_at_the_nodes_day_step_is_done_today_with_its_photos(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")  # asks for the day: a photo means today
    for _ in range(2):
        assert (await part(tg, "702")).messages == []
    asked = await answer(tg)  # planned for 2027, done early today: good news, the photos its evidence
    assert f"完成日期：{today(tg)}" in asked and "照片 2 张" in asked, asked
    assert "照片 2 张" in await tg.press(HAO, "完成")
    assert len(await node_photos(tg)) == 2


async def test_a_photo_at_the_nodes_day_step_is_kept_when_its_day_is_refused(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")
    refused = (await tg.photo(HAO, "2025-11-20", file_id="day-refused")).text
    assert "早于节点计划的年度" in refused and "已收到照片 1 张" in refused, refused
    assert "照片 1 张" in await tg.press(HAO, "今天完成")
    assert "照片 1 张" in await tg.press(HAO, "完成")
    assert await node_photos(tg) == ["day-refused"]


async def test_an_album_captioned_during_the_node_flow_brings_its_words_as_the_note(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")
    await tg.press(HAO, f"今天完成（{today(tg)}）")
    await part(tg, "703")
    await part(tg, "703", "路基全线贯通")
    await part(tg, "703")
    asked = await answer(tg)
    assert "照片 3 张" in asked and "路基全线贯通" in asked
    await tg.press(HAO, "完成")
    assert len(await node_photos(tg)) == 3 and await tg.report_count() == 0


async def test_an_album_during_a_flow_that_takes_no_photos_is_answered_once(tg: TelegramHarness) -> None:
    assert "已记录" in await tg.send(HAO, f"/report {CODE} 850 桩基")
    assert "请选择要更正填报的项目" in await tg.send(HAO, "/correct")
    for _ in range(3):
        assert (await part(tg, "704")).messages == []
    assert await notices_after(tg, seconds=ALBUM_WAIT.total_seconds() - 1) == []  # a caption may still come
    [notice] = await notices_after(tg, seconds=1)
    assert "收到 3 张照片" in notice and "不需要照片" in notice and "未保存" in notice
    assert await notices_after(tg, minutes=5) == []
    days = await tg.press(HAO, f"{CODE} 城北高速连接线")  # the flow goes on where it was
    assert any("850 万元 桩基" in label for label in days.buttons), days
    assert len(await photo_files(tg)) == 0


async def test_an_album_at_any_step_of_issue_goes_with_the_problem(tg: TelegramHarness) -> None:
    await tg.send(HAO, f"/issue {CODE} 用地")  # asks for the description
    for _ in range(2):
        assert (await part(tg, "705")).messages == []
    kept = await answer(tg)
    assert "现有 2 张" in kept and "请输入问题描述" in kept
    assert "照片" in await tg.send(HAO, "征地红线内还有两户未签约")
    units = await tg.press(HAO, "完成（不再上传照片）")
    check = await tg.press(HAO, units.buttons[0])
    assert "照片：2 张" in check.text
    assert "W0001" in await tg.press(HAO, "确认")
    async with tg.session() as session:
        assert len((await session.scalars(select(ProblemPhoto.id))).all()) == 2
        assert len((await session.scalars(select(Problem.id))).all()) == 1


@pytest.mark.parametrize("album", [True, False])
async def test_node_done_from_the_report_takes_the_reports_photos(tg: TelegramHarness, album: bool) -> None:
    """The liaison sent photos in /report, then saw it was a milestone and pressed 节点完成: the photos are the
    node's evidence, not lost with the report he left."""
    await tg.send(HAO, "/report")
    asked = await tg.press(HAO, f"{CODE} 城北高速连接线")
    assert "节点完成" in asked.buttons
    if album:
        for _ in range(2):
            await part(tg, "706")
        assert "现有 2 张" in await answer(tg)
    else:
        assert "现有 1 张" in await tg.photo(HAO)
    count = 2 if album else 1
    await tg.press(HAO, "节点完成")
    day = await tg.press(HAO, f"{CODE} {NODE}")
    assert f"填报中已发送的 {count} 张照片" in day
    evidence = await tg.press(HAO, f"今天完成（{today(tg)}）")
    assert f"照片 {count} 张" in evidence
    assert f"照片 {count} 张" in await tg.press(HAO, "完成")
    assert len(await node_photos(tg)) == count and await tg.report_count() == 0


async def test_a_stranger_is_answered_once_per_album(tg: TelegramHarness) -> None:
    tg.fake.user(STRANGER, first_name="路人")
    answers = []
    for n in range(3):
        fields = {
            "media_group_id": "707",
            "photo": [
                {
                    "file_id": tg.fake.add_file(),
                    "file_unique_id": f"s{n}",
                    "width": 1280,
                    "height": 960,
                    "file_size": 200_000,
                }
            ],
        }
        answers.append((await tg.message(STRANGER, fields)).texts)
    assert ["还没有绑定" in " ".join(a) for a in answers] == [True, False, False], answers
    assert await notices_after(tg, minutes=5) == []


async def test_a_caption_the_bot_reaches_late_still_takes_the_album_and_no_notice_went_out(tg: TelegramHarness) -> None:
    """The bot is 20 seconds behind: it handles the parts 20 s after they were sent, and the captioned part, sent
    with them, 16 s later still. The notice that the photos were not saved waits as long again as the bot was
    behind, so it never goes out before the caption is handled."""

    def late(album: str, caption: str = "") -> dict:
        """A part sent 20 s before the bot handles it."""
        update = part_update(tg.fake, album, caption)
        update["message"]["date"] = int((tg.clock.now() - timedelta(seconds=20)).timestamp())
        return update

    for _ in range(2):
        assert (await deliver(tg, late("708"))).messages == []
    assert await notices_after(tg, seconds=16) == []  # past ALBUM_WAIT after the parts were handled
    caption = late("708", LINE)
    caption["message"]["date"] -= 16  # sent with the others
    assert "照片 3 张" in await deliver(tg, caption)
    assert await notices_after(tg, minutes=5) == []
    assert len(await photo_files(tg)) == 3

    # With no caption at all, the notice goes out all the same, once the longer wait is over.
    for _ in range(2):
        await deliver(tg, late("709"))
    assert await notices_after(tg, seconds=30) == []
    [notice] = await notices_after(tg, seconds=6)
    assert UNEXPLAINED in notice and "收到 2 张照片" in notice


async def _at_the_amount_step_of_correct(tg: TelegramHarness) -> None:
    assert "已记录" in await tg.send(HAO, f"/report {CODE} 850 桩基")
    await tg.send(HAO, "/correct")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    assert "请发送更正后的本期完成投资" in await tg.press(HAO, "11-20 850 万元 桩基")


async def test_a_captioned_photo_during_a_flow_that_takes_none_says_it_was_not_kept(tg: TelegramHarness) -> None:
    await _at_the_amount_step_of_correct(tg)
    answered = await tg.photo(HAO, "900", file_id="not-kept")
    assert "请发送更正后的形象进度" in answered  # the caption did what it says
    assert "这张照片未保存" in answered and "照片说明中的文字已按该操作的回复处理" in answered, answered
    assert await notices_after(tg, minutes=5) == []
    assert len(await photo_files(tg)) == 0


async def test_a_captioned_album_during_a_flow_that_takes_none_is_told_once_its_photos_were_not_kept(
    tg: TelegramHarness,
) -> None:
    await _at_the_amount_step_of_correct(tg)
    assert (await part(tg, "720")).messages == []  # held for the caption
    assert (await part(tg, "720", "900")).messages == []  # the flow's answer waits for the rest
    assert (await part(tg, "720")).messages == []  # the caption's answer is the album's
    said = await notices_after(tg, seconds=ALBUM_WAIT.total_seconds() * 2)
    assert len(said) == 2 and "请发送更正后的形象进度" in said[0], said
    assert "这组照片未保存" in said[1] and UNEXPLAINED not in " ".join(said)
    assert await notices_after(tg, minutes=5) == []
    assert len(await photo_files(tg)) == 0
    confirm = await tg.send(HAO, "承台施工")  # the flow goes on from the caption's amount
    assert "更正理由" in confirm


async def test_parts_that_come_after_the_node_was_marked_done_join_its_evidence(tg: TelegramHarness) -> None:
    """完成 pressed while the album was still uploading (a large photo takes seconds): the parts that come after
    it are the node's evidence as much as the ones before, not photos 'with no caption'."""
    await tg.send(HAO, "/node")
    await tg.press(HAO, f"{CODE} {NODE}")
    await tg.press(HAO, f"今天完成（{today(tg)}）")
    for _ in range(2):
        await part(tg, "730")
    assert "照片 2 张" in await tg.press(HAO, "完成")
    for _ in range(2):
        assert (await part(tg, "730")).messages == []  # answered once, after the last
    [joined] = await notices_after(tg, seconds=ALBUM_WAIT.total_seconds() * 2)
    assert f"照片已加入节点「{NODE}」的完成佐证，现有照片 4 张" in joined, joined
    assert await notices_after(tg, minutes=5) == []
    assert len(await node_photos(tg)) == 4
    tg.assert_nothing_failed()


async def test_parts_after_the_node_done_from_the_report_join_the_nodes_evidence(tg: TelegramHarness) -> None:
    """An album begun in /report, 节点完成 pressed and the node marked done while it was still uploading: its
    later parts follow its first ones into the node's evidence, as they do in /node."""
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    for _ in range(2):
        await part(tg, "731")
    assert "现有 2 张" in await answer(tg)
    await tg.press(HAO, "节点完成")
    await tg.press(HAO, f"{CODE} {NODE}")
    await tg.press(HAO, f"今天完成（{today(tg)}）")
    assert "照片 2 张" in await tg.press(HAO, "完成")
    for _ in range(2):
        assert (await part(tg, "731")).messages == []
    [joined] = await notices_after(tg, seconds=ALBUM_WAIT.total_seconds() * 2)
    assert f"照片已加入节点「{NODE}」的完成佐证，现有照片 4 张" in joined, joined
    assert len(await node_photos(tg)) == 4 and await tg.report_count() == 0
    tg.assert_nothing_failed()
