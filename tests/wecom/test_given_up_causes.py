"""Why a notice was given up on, as the admins are told it, through the WeCom channel and the fake WeCom: the cause is
classified when the notice fails, by WeCom's errcode (not read afterwards from the words of the recorded error), and
kept with the row; a row failed before the cause was kept is still told, from its recorded error."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain import give_up_reasons
from bot.domain.messages import Reply
from bot.render import Renderer
from bot.services.channel_notices import ChannelNotices
from bot.services.outbox import OutboxSender
from storage import outbox as outbox_repo
from storage.models import OutboxMessage, Person
from tests.fakes.wecom_api import FakeWeCom, shown_text
from tests.wecom.harness import FAST, HAO, WeComHarness

ADMIN = "office"


async def notify_hao(wecom: WeComHarness, text: str, key: str) -> None:
    async with wecom.session() as session:
        person = await session.scalar(select(Person).where(Person.name == "郝芳"))
        assert person is not None
        await outbox_repo.enqueue_for_person(session, person_id=person.id, reply=Reply(html=text), key=key,
                                             now=wecom.clock.now())


async def deliver(wecom: WeComHarness) -> None:
    """Drain the outbox with a sender that tells the admins of what it gives up on, as the running bot's does."""
    sender = OutboxSender(wecom.core.db, wecom.clock, {"wecom": wecom.channel.transport}, limits={"wecom": FAST},
                          notices=ChannelNotices(wecom.core.db, wecom.clock, Renderer()))
    await sender.drain(10)


async def told(wecom: WeComHarness, fake_wecom: FakeWeCom, since: int) -> str:
    """What the admin was told (the outbox drained again: the admins' notice goes out on WeCom too)."""
    await deliver(wecom)
    await deliver(wecom)
    return "\n".join(shown_text(m) for m in fake_wecom.sent_to(ADMIN, since=since))


async def test_a_message_type_wecom_refuses_is_told_as_the_notices_fault_by_its_errcode(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    """WeCom answers errcode 40008 (invalid message type): the notice's fault, 内容有误, not 平台拒收; the cause is kept
    with the row."""
    await wecom.bind(ADMIN, "管理员(区重大项目办)", "admin")
    await wecom.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    await notify_hao(wecom, "<b>调度会</b> 明天上午九点", "notice:type")
    fake_wecom.inject_fault("message/send", errcode=40008, errmsg="invalid message type", times=1)
    await deliver(wecom)
    async with wecom.session() as session:
        [row] = (await session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(
            "notice:type")))).all()
    assert (row.state, row.fail_cause) == ("failed", give_up_reasons.CONTENT)
    assert give_up_reasons.reason_of(row.last_error) == give_up_reasons.REFUSED  # what its words alone would say
    news = await told(wecom, fake_wecom, mark)
    assert "发给 郝芳" in news and "内容有误" in news and "平台拒收" not in news, news


async def test_a_row_failed_before_its_cause_was_kept_is_told_from_its_recorded_error(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    """A row given up on by an older version (no cause kept) is told as before, from its recorded error."""
    await wecom.bind(ADMIN, "管理员(区重大项目办)", "admin")
    await wecom.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    await notify_hao(wecom, "旧通知", "notice:old")
    async with wecom.session() as session:
        [row] = (await session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(
            "notice:old")))).all()
        row.state, row.last_error, row.failed_at = "failed", "PermanentError: not a WeCom userid: 'x y'", \
            wecom.clock.now()
    news = await told(wecom, fake_wecom, mark)
    assert "配置有误" in news, news
