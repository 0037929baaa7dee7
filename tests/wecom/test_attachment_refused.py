"""On WeCom, a notice whose file cannot be sent (over WeCom's limit, refused by WeCom, gone from disk) still
sends its text, and a line saying which file did not go out and why; a retry never sends the text twice."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.base import Attachment
from bot.channels.wecom.transport import FILE_MAX
from bot.domain.messages import Reply
from storage import outbox as outbox_repo
from storage.models import OutboxMessage, Person
from tests.fakes.wecom_api import FakeWeCom, shown_text
from tests.wecom.harness import HAO, WeComHarness


async def notify_hao(wecom: WeComHarness, reply: Reply, attachment: Attachment) -> None:
    async with wecom.session() as session:
        person = await session.scalar(select(Person).where(Person.name == "郝芳"))
        assert person is not None
        await outbox_repo.enqueue_for_person(session, person_id=person.id, reply=reply, key="notice:file",
                                             now=wecom.clock.now(), attachment=attachment)


async def states(wecom: WeComHarness) -> list[tuple[str, int]]:
    async with wecom.session() as session:
        return [(r.state, r.parts_sent or 0) for r in (await session.scalars(select(OutboxMessage))).all()]


async def test_a_file_over_wecoms_limit_leaves_the_text_and_a_note(
        wecom: WeComHarness, fake_wecom: FakeWeCom, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await wecom.bind(HAO, "郝芳")
    big = tmp_path / "现场视频.mp4"
    with big.open("wb") as file:
        file.truncate(FILE_MAX + 1)
    await notify_hao(wecom, Reply("<b>现场视频</b> 见附件"), Attachment("document", str(big)))
    mark = len(fake_wecom.calls)

    with caplog.at_level(logging.WARNING):
        assert (await wecom.deliver_outbox()).sent == 1

    assert fake_wecom.calls_of("media/upload", since=mark) == []
    shown = [shown_text(m) for m in fake_wecom.sent_to(HAO, since=mark)]
    assert len(shown) == 2 and "现场视频" in shown[0]
    assert "附件「现场视频.mp4」未能发送：文件过大（超过 20 MB）" in shown[1]
    assert await states(wecom) == [("sent", 0)]
    assert any("not sent to wecom:HaoFang (too_large)" in r.getMessage() for r in caplog.records)


async def test_a_file_wecom_refuses_leaves_the_text_and_a_retry_sends_only_the_note(
        wecom: WeComHarness, fake_wecom: FakeWeCom, tmp_path: Path) -> None:
    await wecom.bind(HAO, "郝芳")
    sheet = tmp_path / "台账.xlsx"
    sheet.write_bytes(b"PK\x03\x04 workbook")
    await notify_hao(wecom, Reply("11月台账见附件"), Attachment("document", str(sheet)))
    # WeCom refuses the upload for good (an errcode the harness does not count as the bot's own mistake)
    fake_wecom.inject_fault("media/upload", errcode=40009, errmsg="invalid image size", times=None)
    fake_wecom.inject_fault("message/send", status=502, times=1, after=1)  # the text passes, the note not
    mark = len(fake_wecom.calls)

    await wecom.deliver_outbox()
    assert await states(wecom) == [("pending", 1)]
    wecom.clock.advance(minutes=5)
    assert (await wecom.deliver_outbox()).sent == 1

    shown = [shown_text(m) for m in fake_wecom.sent_to(HAO, since=mark)]
    assert len(shown) == 2 and "11月台账见附件" in shown[0]
    assert "附件「台账.xlsx」未能发送：平台拒收此文件" in shown[1]


async def test_a_group_robots_bulletin_goes_out_without_its_missing_file(
        wecom: WeComHarness, fake_wecom: FakeWeCom, tmp_path: Path) -> None:
    gone = Attachment("document", str(tmp_path / "gone.xlsx"), "周通报.xlsx")
    async with wecom.session() as session:
        await outbox_repo.enqueue_for_chat(session, channel="wecom_robot", chat_id="项目办",
                                           reply=Reply("<b>周通报</b> 见附件"), key="bulletin:w1",
                                           now=wecom.clock.now(), attachment=gone)

    assert (await wecom.deliver_outbox()).sent == 1

    texts = [m["markdown"]["content"] for m in fake_wecom.robot_messages("项目办")]
    assert len(texts) == 2 and "周通报" in texts[0]
    assert "附件「周通报.xlsx」未能发送：文件已不存在或无法读取" in texts[1]
