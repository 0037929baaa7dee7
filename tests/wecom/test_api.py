"""The WeCom API client and transports against the fake over HTTP: the access token, what each error
means to the outbox, attachments, partial failures, the per-member limit, and the outbox fallback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.channels.base import (
    Attachment,
    ChannelDown,
    PermanentError,
    RecipientBlocked,
    RetryLater,
    TransientError,
)
from bot.channels.wecom.answers import errcode_of, redact
from bot.channels.wecom.api import WeComApi
from bot.channels.wecom.binding import bind_wecom
from bot.channels.wecom.transport import WeComTransport
from bot.channels.wecom.windows import SlidingWindow, TtlCache
from bot.domain.messages import Button, Outcome, Reply
from storage import outbox as outbox_repo
from storage.models import ChatAccount, OutboxMessage
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_api(fake: FakeWeCom, **overrides: object) -> WeComApi:
    values: dict[str, object] = {"corp_id": fake.corp_id, "secret": fake.secret, "agent_id": fake.agent_id,
                                 "base_url": fake.base_url}
    values.update(overrides)
    return WeComApi(**values)  # type: ignore[arg-type]


@pytest.fixture
async def api(fake_wecom: FakeWeCom):  # type: ignore[no-untyped-def]
    fake_wecom.add_user(HAO)
    async with make_api(fake_wecom) as client:
        yield client


async def test_one_token_serves_concurrent_calls(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    await asyncio.gather(*(api.send_message(HAO, "text", {"content": f"第{n}条"}) for n in range(10)))

    assert fake_wecom.token_grants == 1
    assert len(fake_wecom.sent_to(HAO)) == 10


async def test_the_token_is_fetched_again_shortly_before_it_expires(fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    now = [1000.0]
    async with make_api(fake_wecom, monotonic=lambda: now[0]) as api:
        await api.send_message(HAO, "text", {"content": "一"})
        now[0] += 7200 - 301  # still valid for more than the 5-minute margin
        await api.send_message(HAO, "text", {"content": "二"})
        assert fake_wecom.token_grants == 1
        now[0] += 2
        await api.send_message(HAO, "text", {"content": "三"})
        assert fake_wecom.token_grants == 2


async def test_a_wrong_secret_is_the_channel_down_and_not_asked_again_at_once(fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    async with make_api(fake_wecom, secret="wrong-secret") as api:
        with pytest.raises(ChannelDown) as first:
            await api.send_message(HAO, "text", {"content": "x"})
        with pytest.raises(ChannelDown) as second:
            await api.send_message(HAO, "text", {"content": "x"})
        assert len(fake_wecom.calls_of("gettoken")) == 1  # the second try did not hammer gettoken
        with pytest.raises(ChannelDown):
            await api.probe()  # a probe does ask again
        assert len(fake_wecom.calls_of("gettoken")) == 2

    assert errcode_of(first.value) == 40001
    assert first.value.reason == second.value.reason == "bad_secret"
    assert "wrong-secret" not in str(first.value)
    assert fake_wecom.calls_of("message/send") == []


@pytest.mark.parametrize(("errcode", "reason"), [
    (60020, "ip_not_trusted"), (40001, "bad_secret"), (40013, "bad_corp_id"), (301002, "bad_agent_id"),
])
async def test_faults_of_the_setup_are_the_channel_down(api: WeComApi, fake_wecom: FakeWeCom, errcode: int,
                                                        reason: str) -> None:
    fake_wecom.inject_fault("message/send", errcode=errcode)

    with pytest.raises(ChannelDown) as raised:
        await api.send_message(HAO, "text", {"content": "x"})

    assert not isinstance(raised.value, PermanentError)  # the message is fine: never given up on
    assert (raised.value.reason, errcode_of(raised.value)) == (reason, errcode)


@pytest.mark.parametrize(("fault", "error", "errcode"), [
    ({"errcode": 45009}, RetryLater, 45009),
    ({"errcode": 45033}, RetryLater, 45033),
    ({"errcode": 60111}, RecipientBlocked, 60111),
    ({"errcode": -1}, TransientError, -1),
    ({"errcode": 40058}, PermanentError, 40058),
    ({"status": 502}, TransientError, None),
    ({"status": 404}, PermanentError, None),
])
async def test_errors_mean_what_the_outbox_needs(api: WeComApi, fake_wecom: FakeWeCom, fault: dict,
                                                 error: type, errcode: int | None) -> None:
    fake_wecom.inject_fault("message/send", **fault)

    with pytest.raises(error) as raised:
        await api.send_message(HAO, "text", {"content": "x"})

    assert type(raised.value) is error
    assert errcode_of(raised.value) == errcode
    if error is RetryLater:
        assert raised.value.after_seconds > 0
    assert len(fake_wecom.calls_of("message/send")) == 1  # no blind retry


async def test_unknown_and_departed_members_are_unreachable(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    with pytest.raises(RecipientBlocked) as unknown:
        await api.send_message("Nobody", "text", {"content": "x"})
    assert errcode_of(unknown.value) == 81013

    fake_wecom.departed.add("LeftUs")
    with pytest.raises(RecipientBlocked, match="invaliduser"):
        await api.send_message("LeftUs", "text", {"content": "x"})


async def test_a_token_refused_twice_is_refreshed_only_once(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    fake_wecom.inject_fault("message/send", errcode=40014, times=2)

    with pytest.raises(TransientError):
        await api.send_message(HAO, "text", {"content": "x"})

    assert fake_wecom.token_grants == 2
    assert [c.errcode for c in fake_wecom.calls_of("message/send")] == [40014, 40014]


async def test_network_trouble_is_transient_and_leaks_no_secret(fake_wecom: FakeWeCom) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # held, not listening: refused, and no other test process can listen there
        closed_port = sock.getsockname()[1]
        async with make_api(fake_wecom, base_url=f"http://127.0.0.1:{closed_port}") as api:
            with pytest.raises(TransientError) as raised:
                await api.send_message(HAO, "text", {"content": "x"})
    assert fake_wecom.secret not in str(raised.value)
    assert redact("https://h/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cr3t") == \
        "https://h/cgi-bin/gettoken?corpid=ww1&corpsecret=***"


async def test_photos_and_documents_are_uploaded_then_sent(api: WeComApi, fake_wecom: FakeWeCom,
                                                           tmp_path: Path) -> None:
    transport = WeComTransport(api)
    photo, sheet = tmp_path / "现场.png", tmp_path / "台账.xlsx"
    photo.write_bytes(PNG)
    sheet.write_bytes(b"PK\x03\x04 workbook")

    await transport.send(HAO, Reply(html="现场照片"), attachment=Attachment(kind="photo", path=str(photo)))
    await transport.send(HAO, Reply(html="台账"), attachment=Attachment(kind="document", path=str(sheet)))
    await transport.send(HAO, Reply(html="不是图片"), attachment=Attachment(kind="photo", path=str(sheet)))

    sent = fake_wecom.sent_to(HAO)
    assert [m["msgtype"] for m in sent] == ["text", "image", "text", "file", "text", "file"]
    assert fake_wecom.media[sent[1]["image"]["media_id"]] == ("image", "现场.png", PNG)
    assert fake_wecom.media[sent[3]["file"]["media_id"]][1:] == ("台账.xlsx", sheet.read_bytes())
    # A file gone from disk: the text still goes out, with a line saying the file did not.
    await transport.send(HAO, Reply(html="x"), attachment=Attachment(kind="photo", path=str(tmp_path / "no")))
    assert [m["msgtype"] for m in fake_wecom.sent_to(HAO)][6:] == ["text", "text"]
    assert "附件「no」未能发送：文件已不存在或无法读取" in fake_wecom.sent_to(HAO)[7]["text"]["content"]


async def test_a_retry_after_a_partial_failure_sends_only_the_rest(api: WeComApi,
                                                                   fake_wecom: FakeWeCom) -> None:
    transport = WeComTransport(api)
    reply = Reply(html="<b>请核对</b>\n" + "很长的填报说明。" * 40, buttons=((Button("确认", "rp:ok"),),))
    fake_wecom.inject_fault("message/send", status=502, after=1)  # the markdown passes, the card fails

    with pytest.raises(TransientError) as raised:
        await transport.send(HAO, reply)
    assert raised.value.parts_sent == 1
    await transport.send(HAO, reply, skip=raised.value.parts_sent)

    assert [m["msgtype"] for m in fake_wecom.sent_to(HAO)] == ["markdown", "template_card"]
    await transport.send(HAO, reply)  # a new delivery of the same reply is whole again
    assert [m["msgtype"] for m in fake_wecom.sent_to(HAO)][2:] == ["markdown", "template_card"]


async def test_no_more_than_thirty_messages_a_member_a_minute(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    transport = WeComTransport(api, max_wait=0.0)
    for n in range(30):
        await transport.send(HAO, Reply(html=f"第{n}条"))

    with pytest.raises(RetryLater) as raised:
        await transport.send(HAO, Reply(html="第31条"))

    assert 55 < raised.value.after_seconds <= 62
    assert len(fake_wecom.sent_to(HAO)) == 30


async def test_no_more_than_a_thousand_messages_a_member_an_hour(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    """WeCom drops what goes over 30 a minute or 1,000 an hour without an error: the bot keeps to both."""
    now = [0.0]
    fake_wecom.now = lambda: now[0]
    transport = WeComTransport(api, max_wait=0.0, window=SlidingWindow(30, 62, monotonic=lambda: now[0]),
                               hour_window=SlidingWindow(1000, 3602, monotonic=lambda: now[0]))
    for minute in range(40):  # 30 a minute as long as they fit in the hour
        now[0] = minute * 62.0
        for n in range(30):
            try:
                await transport.send(HAO, Reply(html=f"第{minute}分钟第{n}条"))
            except RetryLater as refused:
                assert 30 * minute + n == 1000 and refused.after_seconds > 1000
                break
        else:
            continue
        break

    assert len(fake_wecom.sent_to(HAO)) == 1000
    assert fake_wecom.dropped == []
    now[0] = 3602 + 62.0  # the first minute's messages have left the hour
    await transport.send(HAO, Reply(html="一小时后"))
    assert len(fake_wecom.sent_to(HAO)) == 1001


async def test_the_fake_drops_what_goes_over_a_members_limits(api: WeComApi, fake_wecom: FakeWeCom) -> None:
    """Like WeCom: the 31st message of a minute is answered errcode 0 and never shown."""
    fake_wecom.now = lambda: 100.0
    for n in range(31):
        await api.send_message(HAO, "text", {"content": f"第{n}条"})

    assert len(fake_wecom.sent_to(HAO)) == 30
    assert [body["text"]["content"] for _user, body in fake_wecom.dropped] == ["第30条"]


def test_the_sliding_window_counts_every_message_in_any_window() -> None:
    now = [0.0]
    window = SlidingWindow(3, 60, monotonic=lambda: now[0])
    window.record("u", 2)
    now[0] = 30
    window.record("u")
    assert window.delay("u") == pytest.approx(30)  # the first two leave the window at 60
    assert window.delay("u", 3) == pytest.approx(60)
    assert window.delay("other") == 0
    now[0] = 60
    assert window.delay("u", 2) == 0
    with pytest.raises(ValueError):
        window.delay("u", 4)


def test_the_ttl_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(ttl=10, max_items=3, monotonic=lambda: now[0])
    assert cache.add("a", 1) and not cache.add("a", 2)
    for key in "bcd":
        cache.set(key, 0)
    assert "a" not in cache and len(cache) == 3  # the oldest made room
    now[0] = 11
    assert len(cache) == 0


# --- with the outbox and the database ------------------------------------------------------------------


async def test_the_outbox_marks_a_member_wecom_does_not_know_unreachable(wecom: WeComHarness,
                                                                         fake_wecom: FakeWeCom) -> None:
    await bind_wecom(wecom.core.db, wecom.clock, userid="GoneUser", person_name="郝芳")  # not in WeCom
    async with wecom.session() as session:
        [account] = (await session.scalars(select(ChatAccount))).all()
        await outbox_repo.enqueue_for_person(session, person_id=account.person_id, reply=Reply(html="通知"),
                                             key="notice:1", now=wecom.clock.now())

    stats = await wecom.deliver_outbox()

    assert stats.undeliverable == 1
    async with wecom.session() as session:
        account = await session.scalar(select(ChatAccount))
        assert account is not None and account.blocked_at is not None
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.state == "undeliverable" and "81013" in (row.last_error or "")


async def test_a_reply_that_cannot_go_out_now_is_left_to_the_outbox(wecom: WeComHarness,
                                                                    fake_wecom: FakeWeCom,
                                                                    wecom_core: Core) -> None:
    await wecom.bind(HAO, "郝芳")
    fake_wecom.inject_fault("message/send", status=503)

    replies = await wecom.send(HAO, "/mine")

    assert replies.messages == []
    async with wecom.session() as session:
        [row] = (await session.scalars(select(OutboxMessage))).all()
        assert (row.channel, row.chat_id, row.state) == ("wecom", HAO, "pending")
    stats = await wecom.deliver_outbox()
    assert stats.sent == 1
    assert "城北高速连接线" in fake_wecom.shown(HAO)[-1]


async def test_a_reply_cut_short_is_finished_by_the_outbox_without_repeating_a_part(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    await wecom.bind(HAO, "郝芳")
    mark = len(fake_wecom.calls)
    reply = Reply(html="<b>请核对</b>\n" + "很长的填报说明。" * 40, buttons=((Button("确认", "rp:ok"),),))
    fake_wecom.inject_fault("message/send", status=503, after=1)  # the markdown passes, the card does not

    await wecom.channel.deliver(HAO, Outcome(replies=[reply, Reply(html="下一条")]))

    async with wecom.session() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        assert [(r.state, r.parts_sent) for r in rows] == [("pending", 1), ("pending", 0)]
    assert (await wecom.deliver_outbox()).sent == 2
    assert [m["msgtype"] for m in fake_wecom.sent_to(HAO, since=mark)] == ["markdown", "template_card", "text"]
