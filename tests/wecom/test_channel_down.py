"""A WeCom app whose setup is wrong (this server's IP not among the app's trusted IPs, a reset secret) fails
every notice alike: that is a fault of the channel, not of the notices. End to end over HTTP, the fake WeCom
refusing the bot as WeCom does and the fake Bot API standing for the admin's Telegram: the notices are held
(nothing failed, no try counted), the admins are told once on Telegram, the health check and the metrics say
why; the channel is probed on the injected clock, and once the setup is right again every notice goes out once
with nobody pressing 全部重试.

The same holds for Telegram refusing the bot's token (401 Unauthorized: revoked or replaced in @BotFather), the
admins being told on WeCom and the probe being a ``getMe``; and for a sender that starts during a fault
(a restart, a new leader): it probes at once, and a fault the restart mended ends there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import telegram_bot
from bot.channels.telegram_transport import TelegramTransport
from bot.channels.wecom.binding import bind_wecom
from bot.channels.wecom.incoming import incoming_from
from bot.domain.messages import Reply
from bot.ops.health import health
from bot.ops.metrics import BotMetrics
from bot.render import Renderer, html_to_plain
from bot.services.channel_notices import ChannelNotices
from bot.services.outbox import OutboxSender
from storage import outbox, people
from storage.models import OutboxMessage
from tests.e2e.harness import e2e_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import FAST, HAO, ZHAO, WeComHarness

ADMIN = "XiangMuBan"
ADMIN_NAME = "管理员(区重大项目办)"
ADMIN_TELEGRAM = 9001
ADDRESS = "203.0.113.7"


@pytest.fixture
async def telegram(fake_api: FakeBotAPI) -> AsyncIterator[TelegramTransport]:
    bot = telegram_bot(e2e_settings(fake_api))
    async with bot:
        yield TelegramTransport(bot)


async def notices_for(wecom: WeComHarness, names: list[str], count: int) -> None:
    async with wecom.session() as session:
        for name in names:
            [person] = await people.find_people_by_name(session, name=name)
            for n in range(count):
                await outbox.enqueue_for_person(session, person_id=person.id, reply=Reply(html=f"第{n + 1}条通知"),
                                                key=f"notice:{person.id}:{n}", now=wecom.clock.now())


async def wecom_rows(wecom: WeComHarness) -> list[OutboxMessage]:
    async with wecom.session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wecom")
                                           .order_by(OutboxMessage.id))).all())


async def outbox_shown(wecom: WeComHarness) -> str:
    """What /outbox answers the admin (handled here: the admin's WeCom replies are what is down)."""
    incoming, _press = incoming_from(ADMIN, {"MsgType": "text", "Content": "/outbox", "MsgId": "1"},
                                     pressed_number=lambda _user, _text: None, greet=lambda _user: False)
    assert incoming is not None
    outcome = await wecom.core.router.handle(incoming)
    return "\n".join(html_to_plain(reply.html) for reply in outcome.replies)


def fault_on(fake: FakeWeCom, kind: str) -> None:
    if kind == "ip_not_trusted":
        fake.untrusted_ip = ADDRESS  # gettoken still works, every send is refused
    else:
        fake.secret = "reset-in-the-admin-console"  # the app's secret was reset: the bot's one is refused
        fake.expire_tokens()


def fault_off(fake: FakeWeCom, secret: str) -> None:
    fake.untrusted_ip = None
    fake.secret = secret


@pytest.mark.parametrize("kind", ["ip_not_trusted", "bad_secret"])
async def test_a_wrong_setup_holds_the_notices_tells_the_admins_once_and_they_go_out_when_fixed(
        wecom: WeComHarness, fake_wecom: FakeWeCom, fake_api: FakeBotAPI, telegram: TelegramTransport,
        kind: str) -> None:
    await wecom.bind(HAO, "郝芳")
    await wecom.bind(ZHAO, "赵芳", "unit")
    await bind_admin_on_both(wecom, fake_wecom)
    await notices_for(wecom, ["郝芳", "赵芳"], 3)
    secret = fake_wecom.secret
    db, clock = wecom.core.db, wecom.clock
    sender = OutboxSender(db, clock, {"wecom": wecom.channel.transport, "telegram": telegram},
                          limits={"wecom": FAST, "telegram": FAST}, notices=ChannelNotices(db, clock))
    fault_on(fake_wecom, kind)
    mark = start = len(fake_wecom.calls)

    # A member's message meanwhile: the answer cannot go out, and waits in the outbox like the notices.
    assert (await wecom.send(HAO, "/help")).texts == []
    stats = await sender.drain(10)

    rows = await wecom_rows(wecom)
    assert len(rows) == 7 and {r.state for r in rows} == {"pending"}  # held: nothing failed, nothing lost
    assert {r.attempts for r in rows} == {0}  # and no try counted against any of them
    assert stats.failed == 0 and stats.sent == 1  # the admin's notice, on Telegram
    assert stats.held > 0 and f"暂存 {stats.held} 条（恢复后自动补发）" in Renderer().plain("cli/sent", stats=stats)
    told = fake_api.texts(ADMIN_TELEGRAM)
    assert len(told) == 1 and "企业微信应用暂停发送" in told[0]
    if kind == "ip_not_trusted":
        assert "企业可信IP" in told[0] and ADDRESS in told[0]
    else:
        assert "Secret" in told[0] and "重启服务" in told[0]
    assert [fake_wecom.sent_to(who, since=start) for who in (HAO, ZHAO, ADMIN)] == [[], [], []]
    # The first send of each chat met the fault; the rest were held without asking WeCom.
    assert len(fake_wecom.calls_of("message/send", since=mark)) <= 3

    assert "企业微信应用自 2026-11-20 10:00 起暂停发送" in await outbox_shown(wecom)  # why the 7 are pending
    status, report = await health(db, clock, sender=sender, ready=True)
    assert status == 503 and report["ok"] is False and report["ready"] is False
    assert report["channel_faults"]["wecom"]["reason"] == kind
    assert f"channel wecom down: {kind}" in report["problems"]
    # Alive all the same: restarting would not fix WeCom's setup, and would cut Telegram off meanwhile.
    status, report = await health(db, clock, sender=sender)
    assert status == 200 and report["live"] is True and report["channel_faults"]["wecom"]["reason"] == kind
    metrics = BotMetrics()
    metrics.observe_channels(sender.channel_states())
    assert metrics.sample("diaodu_channel_up", channel="wecom") == 0
    assert metrics.sample("diaodu_channel_up", channel="telegram") == 1
    assert metrics.sample("diaodu_channel_fault", channel="wecom", reason=kind) == 1

    # Not fixed yet: nothing is asked before the probe is due; the probe finds it still down.
    mark = len(fake_wecom.calls)
    await sender.drain(10)
    assert fake_wecom.calls[mark:] == []
    clock.advance(seconds=31)
    await sender.drain(10)
    probed = [c.path for c in fake_wecom.calls[mark:]]
    # The trusted-IP fault does not show in gettoken: one held notice tries the channel, and is held again.
    assert probed == (["gettoken", "message/send"] if kind == "ip_not_trusted" else ["gettoken"])
    rows = await wecom_rows(wecom)
    assert {r.state for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}
    assert len(fake_api.texts(ADMIN_TELEGRAM)) == 1  # told once
    next_probe = sender.channel_states()["wecom"]
    assert next_probe is not None and next_probe.next_probe_at == clock.now() + timedelta(seconds=60)

    # Fixed: at the next probe every notice goes out, each once, and the admins hear that it works again.
    fault_off(fake_wecom, secret)
    clock.advance(seconds=61)
    await sender.drain(10)

    assert {r.state for r in await wecom_rows(wecom)} == {"sent"}
    assert [len(fake_wecom.sent_to(who, since=start)) for who in (HAO, ZHAO)] == [4, 3]  # the answer to /help too
    assert fake_wecom.shown(ZHAO, since=start) == ["第1条通知", "第2条通知", "第3条通知"]
    told = fake_api.texts(ADMIN_TELEGRAM)
    assert len(told) == 2 and "企业微信应用已恢复发送" in told[1]
    assert sender.channel_states() == {"telegram": None, "wecom": None}
    assert "暂停发送" not in await outbox_shown(wecom)
    _status, report = await health(db, clock, sender=sender)
    assert "channel_faults" not in report
    assert not [p for p in report.get("problems", []) if p.startswith("channel")]


async def test_a_new_sender_meeting_the_same_fault_does_not_tell_the_admins_again(
        wecom: WeComHarness, fake_wecom: FakeWeCom, fake_api: FakeBotAPI, telegram: TelegramTransport) -> None:
    """A restart, or another process taking the lead, during the fault: one fault, one notice."""
    await wecom.bind(HAO, "郝芳")
    await bind_wecom(wecom.core.db, wecom.clock, userid=ADMIN, person_name=ADMIN_NAME)
    async with wecom.session() as session:
        [admin] = await people.find_people_by_name(session, name=ADMIN_NAME)
        await people.bind_account(session, person=admin, channel="telegram", external_id=str(ADMIN_TELEGRAM),
                                  chat_id=str(ADMIN_TELEGRAM), display_name=None, now=wecom.clock.now())
    await notices_for(wecom, ["郝芳"], 2)
    fault_on(fake_wecom, "ip_not_trusted")
    db, clock = wecom.core.db, wecom.clock

    def new_sender() -> OutboxSender:
        transports: dict[str, Any] = {"wecom": wecom.channel.transport, "telegram": telegram}
        return OutboxSender(db, clock, transports, limits={"wecom": FAST, "telegram": FAST},
                            notices=ChannelNotices(db, clock))

    await new_sender().drain(10)
    clock.advance(minutes=10)
    await new_sender().drain(10)

    assert len(fake_api.texts(ADMIN_TELEGRAM)) == 1
    assert {r.state for r in await wecom_rows(wecom)} == {"pending"}


async def bind_admin_on_both(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(ADMIN)
    await bind_wecom(wecom.core.db, wecom.clock, userid=ADMIN, person_name=ADMIN_NAME)
    async with wecom.session() as session:
        [admin] = await people.find_people_by_name(session, name=ADMIN_NAME)
        await people.bind_account(session, person=admin, channel="telegram", external_id=str(ADMIN_TELEGRAM),
                                  chat_id=str(ADMIN_TELEGRAM), display_name=None, now=wecom.clock.now())


TELEGRAM_CHATS = (1001, 1002, 1003)


async def telegram_notices(wecom: WeComHarness) -> None:
    async with wecom.session() as session:
        for n, chat in enumerate(TELEGRAM_CHATS):
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id=str(chat),
                                          reply=Reply(html=f"第{n + 1}条通知"), key=f"tg-notice:{n}",
                                          now=wecom.clock.now())


async def telegram_rows(wecom: WeComHarness) -> list[OutboxMessage]:
    async with wecom.session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "telegram")
                                           .where(OutboxMessage.chat_id != str(ADMIN_TELEGRAM))
                                           .order_by(OutboxMessage.id))).all())


def telegram_sender(wecom: WeComHarness, telegram: TelegramTransport) -> OutboxSender:
    db, clock = wecom.core.db, wecom.clock
    return OutboxSender(db, clock, {"wecom": wecom.channel.transport, "telegram": telegram},
                        limits={"wecom": FAST, "telegram": FAST}, notices=ChannelNotices(db, clock))


async def test_a_revoked_telegram_token_holds_the_notices_and_the_admins_hear_it_on_wecom(
        wecom: WeComHarness, fake_wecom: FakeWeCom, fake_api: FakeBotAPI, telegram: TelegramTransport) -> None:
    await bind_admin_on_both(wecom, fake_wecom)
    await telegram_notices(wecom)
    db, clock = wecom.core.db, wecom.clock
    sender = telegram_sender(wecom, telegram)
    fake_api.token_revoked = True  # revoked in @BotFather while the bot runs
    start = len(fake_wecom.calls)

    stats = await sender.drain(10)

    rows = await telegram_rows(wecom)
    assert len(rows) == 3 and {r.state for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}
    assert stats.failed == 0 and stats.sent == 1  # the admin's notice, on WeCom
    [told] = fake_wecom.shown(ADMIN, since=start)
    assert "Telegram暂停发送" in told and "@BotFather" in told and "重启服务" in told
    assert "Telegram自 2026-11-20 10:00 起暂停发送" in await outbox_shown(wecom)
    status, report = await health(db, clock, sender=sender, ready=True)
    assert status == 503 and report["channel_faults"]["telegram"]["reason"] == "bad_token"
    assert "channel telegram down: bad_token" in report["problems"]
    assert (await health(db, clock, sender=sender))[0] == 200  # alive: WeCom works, a restart would not help
    metrics = BotMetrics()
    metrics.observe_channels(sender.channel_states())
    assert metrics.sample("diaodu_channel_fault", channel="telegram", reason="bad_token") == 1
    assert metrics.sample("diaodu_channel_up", channel="wecom") == 1

    # The probe is a getMe, 30 s after the fault on the injected clock; still refused, nothing is sent.
    mark = len(fake_api.calls)
    await sender.drain(10)
    assert fake_api.calls[mark:] == []
    clock.advance(seconds=31)
    await sender.drain(10)
    assert [(c.method, c.status) for c in fake_api.calls[mark:]] == [("getMe", 401)]
    assert {r.state for r in await telegram_rows(wecom)} == {"pending"}
    assert len(fake_wecom.shown(ADMIN, since=start)) == 1  # told once

    # Telegram takes the token again: the held notices go out, each once, and the admins hear it.
    fake_api.token_revoked = False
    clock.advance(seconds=61)
    await sender.drain(10)
    assert {r.state for r in await telegram_rows(wecom)} == {"sent"}
    assert [fake_api.texts(chat) for chat in TELEGRAM_CHATS] == [["第1条通知"], ["第2条通知"], ["第3条通知"]]
    told_again = fake_wecom.shown(ADMIN, since=start)
    assert len(told_again) == 2 and "Telegram已恢复发送" in told_again[1]
    assert sender.channel_states() == {"telegram": None, "wecom": None}


@pytest.mark.parametrize("mended", [True, False])
async def test_a_sender_starting_during_a_fault_probes_at_once(
        wecom: WeComHarness, fake_wecom: FakeWeCom, fake_api: FakeBotAPI, telegram: TelegramTransport,
        mended: bool) -> None:
    """A token replaced in the settings takes a restart: the new sender probes the fault the old one told of,
    and when the restart mended it, the held notices go out and the admins hear that Telegram works again
    (and /outbox stops saying it is down); when not, nobody is told twice."""
    await bind_admin_on_both(wecom, fake_wecom)
    await telegram_notices(wecom)
    fake_api.token_revoked = True
    start = len(fake_wecom.calls)
    await telegram_sender(wecom, telegram).drain(10)
    assert len(fake_wecom.shown(ADMIN, since=start)) == 1

    fake_api.token_revoked = not mended  # the restart, with the right token or not
    mark = len(fake_api.calls)
    restarted = telegram_sender(wecom, telegram)
    await restarted.drain(10)  # no clock moved: the probe is due at once

    assert fake_api.calls[mark].method == "getMe"
    told = fake_wecom.shown(ADMIN, since=start)
    if mended:
        assert {r.state for r in await telegram_rows(wecom)} == {"sent"}
        assert len(told) == 2 and "Telegram已恢复发送" in told[1]
        assert "暂停发送" not in await outbox_shown(wecom)
        assert restarted.channel_states()["telegram"] is None
    else:
        assert {r.state for r in await telegram_rows(wecom)} == {"pending"}
        assert len(told) == 1
        fault = restarted.channel_states()["telegram"]
        assert fault is not None and fault.reason == "bad_token"
