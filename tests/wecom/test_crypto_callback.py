"""WeCom end to end: signed, encrypted callbacks from the fake WeCom into the channel's real HTTP endpoint,
the router on the sample ledger, and replies out through the fake's API; bulletins through group robots;
and every refusal of a callback that must not reach a handler.

Members: HaoFang is 郝芳 (liaison of ZD2026-001), ZhaoFang is 赵芳 (unit handler of 区住建局, the lead unit of
ZD2026-001), Stranger01 is bound to nobody.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.base import Attachment
from bot.channels.wecom.binding import bind_wecom
from bot.channels.wecom.markdown import html_to_markdown
from bot.clock import FrozenClock
from bot.domain.messages import Reply
from storage import outbox as outbox_repo
from storage.models import ChatAccount, OutboxMessage, Problem
from tests.e2e.harness import build_core
from tests.fakes.wecom_api import FakeWeCom, as_read, render_markdown
from tests.wecom.harness import HAO, STRANGER, ZHAO, WeComHarness, wecom_settings

CODE = "ZD2026-001"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


@pytest.fixture
async def hao(wecom: WeComHarness) -> WeComHarness:
    await wecom.bind(HAO, "郝芳", "liaison")
    return wecom


# --- URL verification ----------------------------------------------------------------------------------


async def test_url_verification_answers_the_bare_echostr(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    for _ in range(50):  # an echostr with "+" in it: it must not be read as a space
        query = fake_wecom.url_verification("1288432023552776189")
        if "+" in query["echostr"]:
            break
    assert "+" in query["echostr"]

    status, text = await fake_wecom.get_callback(wecom.url, query)

    assert (status, text) == (200, "1288432023552776189")
    forged = {**query, "msg_signature": "0" * 40}
    assert (await fake_wecom.get_callback(wecom.url, forged))[0] == 403
    stale = fake_wecom.url_verification("1", timestamp=int(time.time()) - 3600)
    assert (await fake_wecom.get_callback(wecom.url, stale))[0] == 403
    assert (await fake_wecom.get_callback(wecom.url, {"echostr": query["echostr"]}))[0] == 400


# --- messages in, replies out ----------------------------------------------------------------------------


async def test_binding_by_keyword_then_a_one_shot_report(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    welcome = await wecom.bind(HAO, "郝芳", "liaison", keyword=True)  # "绑定 CODE"
    assert "郝芳" in welcome.text and "已绑定为：联络员" in welcome.text
    assert welcome.msgtypes == ["markdown"]  # bold name, code spans

    replies = await wecom.send(HAO, f"/report {CODE} 1.2亿 主体结构完成60%")

    assert "已记录" in replies.text and "12,000.0 万元" in replies.text and "主体结构完成60%" in replies.text
    [report] = await wecom.reports()
    assert (report.amount, report.channel) == (12000, "wecom")
    incoming = wecom.spy.handled[-1]
    assert (incoming.channel, incoming.user_id, incoming.chat_id) == ("wecom", HAO, HAO)
    card = await wecom.send(HAO, f"项目 {CODE}")  # not a keyword: plain text
    assert "没有看懂" in card.text


async def test_an_invite_code_typed_on_its_own_binds_an_unbound_member(wecom: WeComHarness,
                                                                        fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    code = await wecom.invite("郝芳", "liaison")

    welcome = await wecom.send(HAO, f"  {code}\n")

    assert "已绑定为：联络员" in welcome.text and "郝芳" in welcome.text
    saved = await wecom.send(HAO, f"/report {CODE} 850 桩基完成")
    assert "已记录" in saved.text
    # Once bound, a code-shaped text is just text (it never rebinds), and a used code is refused when
    # someone else types it.
    assert "没有看懂" in (await wecom.send(HAO, code)).text
    fake_wecom.add_user(STRANGER)
    assert "已被使用" in (await wecom.send(STRANGER, code)).text
    assert "邀请码无效" in (await wecom.send(STRANGER, "A" * 24)).text
    assert "/start 邀请码" in (await wecom.send(STRANGER, "A" * 23)).text  # not code-shaped: the usual hint
    async with wecom.session() as session:
        accounts = (await session.scalars(select(ChatAccount).where(ChatAccount.channel == "wecom"))).all()
    assert [a.external_id for a in accounts] == [HAO]


async def test_binding_with_words_after_the_code_names_them_and_binds_nothing(wecom: WeComHarness,
                                                                              fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    code = await wecom.invite("郝芳", "liaison")

    refused = await wecom.send(HAO, f"绑定 {code} 郝芳")

    assert "没有看懂「郝芳」，未办理" in refused.text and "/start 邀请码" in refused.text, refused.text
    async with wecom.session() as session:
        assert (await session.scalars(select(ChatAccount))).all() == []
    assert "已绑定为：联络员" in (await wecom.send(HAO, f"绑定 {code}")).text


async def test_chinese_keywords_run_the_commands(hao: WeComHarness) -> None:
    saved = await hao.send(HAO, f"填报 {CODE} 850 桩基完成")
    assert "已记录" in saved.text and "850.0 万元" in saved.text

    mine = await hao.send(HAO, "我的")
    assert f"✅ {CODE} 城北高速连接线" in mine.text

    helped = await hao.send(HAO, "帮助")
    assert "/report" in helped.text and "/mine" in helped.text


async def test_unbound_members_are_sent_to_bind(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(STRANGER)

    replies = await wecom.send(STRANGER, f"/report {CODE} 1.2亿 主体结构完成60%")

    assert "/start 邀请码" in replies.text
    assert await wecom.report_count() == 0


async def test_menu_click_is_the_command_and_entering_greets_once(hao: WeComHarness) -> None:
    mine = await hao.click(HAO, "/mine")
    assert f"⬜ {CODE} 城北高速连接线" in mine.text

    greeted = await hao.enter(HAO)
    assert "您可以使用" in greeted.text and "/report" in greeted.text
    assert (await hao.enter(HAO)).messages == []  # not on every visit
    assert (await hao.click(HAO, "not-a-command")).messages == []


async def test_a_problem_is_raised_and_accepted_with_a_card_button(hao: WeComHarness,
                                                                    fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(ZHAO)
    binding = await bind_wecom(hao.core.db, hao.clock, userid=ZHAO, person_name="赵芳")
    assert (binding.person_name, binding.previous_person) == ("赵芳", None)

    raised = await hao.send(HAO, f"/issue {CODE} 用地 还有12户未签约")
    assert "W0001" in raised.text and "已交办 区住建局" in raised.text

    stats = await hao.deliver_outbox()
    assert stats.sent >= 1 and stats.failed == stats.undeliverable == 0
    notice = fake_wecom.sent_to(ZHAO)
    assert notice[-1]["msgtype"] == "template_card"
    shown = "\n".join(fake_wecom.shown(ZHAO))
    assert "新问题交办" in shown and "还有12户未签约" in shown
    card = notice[-1]["template_card"]
    assert [b["text"] for b in card["button_list"]] == ["受理", "答复", "申请改派", "已解决"]

    mark = len(fake_wecom.calls)
    pressed_card = fake_wecom.find_card(ZHAO, "受理")
    event = fake_wecom.card_event_xml(ZHAO, pressed_card, "受理")
    accepted = await hao.exchange(ZHAO, event)

    assert "W0001 已受理" in accepted.text
    assert hao.spy.handled[-1].callback_data == "pb:acc:1"
    async with hao.session() as session:
        problem = await session.scalar(select(Problem))
        assert problem is not None and problem.status == "accepted"
    [update] = fake_wecom.calls_of("message/update_template_card", since=mark, ok=True)
    assert update.body["button"]["replace_name"] == "已选择：受理"
    assert update.body["response_code"] == pressed_card.response_code
    with pytest.raises(LookupError):  # the card's buttons are gone
        fake_wecom.find_card(ZHAO, "受理")

    handled = len(hao.spy.handled)
    assert await hao.post(event) == (200, "")  # WeCom retrying the same event
    assert len(hao.spy.handled) == handled

    await hao.deliver_outbox()  # the raiser hears of it
    assert any("已受理" in text or "办理中" in text for text in fake_wecom.shown(HAO, since=mark))


async def test_more_than_six_buttons_become_a_numbered_list(hao: WeComHarness) -> None:
    picked = await hao.send(HAO, "问题")
    assert picked.cards and picked.buttons == [f"{CODE} 城北高速连接线", "取消"]
    categories = await hao.press(HAO, f"{CODE} 城北高速连接线")

    assert categories.cards == []  # ten choices: more than a card holds
    assert categories.buttons[:3] == ["用地", "征地拆迁", "资金"] and categories.buttons[-1] == "取消"
    assert "[2] 征地拆迁" in categories.text and "回复序号选择" in categories.text

    asked = await hao.send(HAO, "2")
    assert hao.spy.handled[-1].callback_data == "iss:c:1"
    assert "征地拆迁" in asked.text
    # The list is answered: a number is text again (here, the problem's description).
    described = await hao.send(HAO, "3")
    assert hao.spy.handled[-1].text == "3" and hao.spy.handled[-1].callback_data is None
    assert described.buttons == ["完成（不再上传照片）", "取消"]


async def test_an_image_is_a_photo_of_the_guided_report(hao: WeComHarness) -> None:
    await hao.send(HAO, "/report")
    await hao.press(HAO, f"{CODE} 城北高速连接线")
    await hao.send(HAO, "3000万元")
    await hao.send(HAO, "路基完成40%")

    got = await hao.photo(HAO, "MEDIA-IN-0001")
    assert "已收到 1 张照片" in got.text
    await hao.press(HAO, "完成（不再上传照片）")
    saved = await hao.press(HAO, "确认")

    assert "照片 1 张" in saved.text
    [report] = await hao.reports()
    assert [p.file_id for p in report.photos] == ["MEDIA-IN-0001"]


async def test_replies_with_user_text_are_escaped_markdown(hao: WeComHarness) -> None:
    replies = await hao.send(HAO, f"/report {CODE} 100 <b>桩基</b>&承台**完成** `x`")

    assert replies.msgtypes == ["markdown"]
    assert "＜b＞桩基＜/b＞&承台＊＊完成＊＊ ｀x｀" in replies.text  # shown literally, in full-width twins
    assert "<b>桩基</b>&承台**完成** `x`" in as_read(replies.text)
    [report] = await hao.reports()
    assert report.progress_text == "<b>桩基</b>&承台**完成** `x`"


# --- bulletins through group robots ------------------------------------------------------------------------


async def test_a_bulletin_is_split_at_4096_bytes_and_carries_its_image(wecom: WeComHarness,
                                                                       fake_wecom: FakeWeCom,
                                                                       tmp_path: Path) -> None:
    name = html.escape("城北<连接线>&二期")
    lines = [f"<b>{n:03d}</b> ZD2026-{n:03d} {name} 完成率 {n % 100}.5% 🟢" for n in range(1, 181)]
    bulletin = Reply(html="<b>重点项目周报</b>\n" + "\n".join(lines))
    picture = tmp_path / "chart.png"
    picture.write_bytes(PNG)
    ledger = tmp_path / "台账.xlsx"
    ledger.write_bytes(b"PK\x03\x04 fake workbook bytes")
    async with wecom.session() as session:
        await outbox_repo.enqueue_for_chat(session, channel="wecom_robot", chat_id="领导小组", reply=bulletin,
                                           key="bulletin:2026-w47", now=wecom.clock.now(),
                                           attachment=Attachment(kind="photo", path=str(picture)))
        await outbox_repo.enqueue_for_chat(session, channel="wecom_robot", chat_id="项目办",
                                           reply=Reply(html="本周台账见附件。"), key="ledger:2026-w47",
                                           now=wecom.clock.now(),
                                           attachment=Attachment(kind="document", path=str(ledger),
                                                                 filename="台账.xlsx"))

    stats = await wecom.deliver_outbox()

    assert (stats.sent, stats.failed) == (2, 0)
    sent = fake_wecom.robot_messages("领导小组")
    parts = [m for m in sent if m["msgtype"] == "markdown"]
    assert len(parts) >= 3
    assert all(len(p["markdown"]["content"].encode()) <= 4096 for p in parts)
    shown = "\n".join(render_markdown(p["markdown"]["content"]) for p in parts)
    assert shown.splitlines()[0] == "重点项目周报"
    assert "180 ZD2026-180 城北＜连接线＞&二期 完成率 80.5% 🟢" in shown
    assert not any("&#" in p["markdown"]["content"] or "&lt;" in p["markdown"]["content"] for p in parts)
    assert len(shown.splitlines()) == 181  # split on line boundaries, nothing lost
    assert "\n".join(p["markdown"]["content"] for p in parts) == html_to_markdown(bulletin.html)
    image = sent[-1]
    assert image["msgtype"] == "image"
    assert base64.b64decode(image["image"]["base64"]) == PNG
    assert image["image"]["md5"] == hashlib.md5(PNG).hexdigest()

    office = fake_wecom.robot_messages("项目办")
    assert [m["msgtype"] for m in office] == ["markdown", "file"]
    key, filename, content = fake_wecom.robot_media[office[1]["file"]["media_id"]]
    assert (key, filename, content) == (fake_wecom.robots["项目办"], "台账.xlsx", ledger.read_bytes())


async def test_robots_stay_under_twenty_messages_a_minute(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    long_text = "\n".join(f"第{n}行 " + "项目进展情况良好" * 20 for n in range(120))  # about 15 parts
    async with wecom.session() as session:
        for week in (1, 2):
            await outbox_repo.enqueue_for_chat(session, channel="wecom_robot", chat_id="领导小组",
                                               reply=Reply(html=long_text), key=f"long:{week}",
                                               now=wecom.clock.now())
    assert wecom.robots is not None
    wecom.robots.max_wait = 0.0  # do not sleep in a test: hand the row back instead

    stats = await wecom.deliver_outbox()

    assert (stats.sent, stats.retried) == (1, 1)  # the second would pass 20 in a minute: it waits
    assert fake_wecom.calls_of("webhook/send", ok=False) == []  # WeCom never had to refuse one
    async with wecom.session() as session:
        waiting = await session.scalar(select(OutboxMessage).where(OutboxMessage.state == "pending"))
        assert waiting is not None and "20 messages" in (waiting.last_error or "")
        assert waiting.attempts == 0  # flood control is not a failed try


# --- access token --------------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_reply_delivered(hao: WeComHarness,
                                                                          fake_wecom: FakeWeCom) -> None:
    grants = fake_wecom.token_grants
    mark = len(fake_wecom.calls)
    fake_wecom.expire_tokens()

    replies = await hao.send(HAO, "/mine")

    assert f"{CODE} 城北高速连接线" in replies.text
    sends = fake_wecom.calls_of("message/send", since=mark)
    assert [c.errcode for c in sends] == [42001, 0]
    assert fake_wecom.token_grants == grants + 1
    assert fake_wecom.calls_of("gettoken", since=mark, ok=True)[0].at < sends[1].at


# --- refusals: nothing reaches a handler ---------------------------------------------------------------

BOMB = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b"<xml><Encrypt>&d;</Encrypt></xml>")


def _refused_cases(fake: FakeWeCom) -> dict[str, tuple[dict[str, str], bytes, int]]:
    text = fake.text_xml(HAO, "/help")
    good_query, good_body = fake.envelope(text)
    raw = b"R" * 16 + len(text.encode()).to_bytes(4, "big") + text.encode() + fake.corp_id.encode()
    bad_padding = fake.seal_raw(raw + b"\x00" * (32 - len(raw) % 32))
    inner_bomb = BOMB.decode().replace("<Encrypt>&d;</Encrypt>", "<Content>&d;</Content>")
    return {
        "wrong signature": ({**good_query, "msg_signature": "f" * 40}, good_body, 403),
        "stale timestamp": (*fake.envelope(text, timestamp=int(time.time()) - 3600), 403),
        "future timestamp": (*fake.envelope(text, timestamp=int(time.time()) + 3600), 403),
        "wrong receiveid": (*fake.envelope(text, receive_id="wwSomeOtherCorp01"), 403),
        "bad padding": (*fake.envelope(encrypt=bad_padding), 400),
        "oversized body": (good_query, b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>", 413),
        "xml entity bomb": (good_query, BOMB, 400),
        "entity bomb inside the encryption": (*fake.envelope(inner_bomb), 400),
        "missing signature": ({"timestamp": good_query["timestamp"], "nonce": good_query["nonce"]},
                              good_body, 400),
    }


CASES = ["wrong signature", "stale timestamp", "future timestamp", "wrong receiveid", "bad padding",
         "oversized body", "xml entity bomb", "entity bomb inside the encryption", "missing signature"]


@pytest.mark.parametrize("case", CASES)
async def test_refused_callbacks_never_reach_a_handler(wecom: WeComHarness, fake_wecom: FakeWeCom,
                                                       case: str) -> None:
    fake_wecom.add_user(HAO)
    query, body, expected = _refused_cases(fake_wecom)[case]

    status, _text = await wecom.post(body=body, query=query)

    assert status == expected
    assert wecom.spy.handled == []
    assert fake_wecom.calls_of("message/send") == []
    assert sum(n for k, n in wecom.channel.stats.items() if k.startswith("refused:")) == 1


async def test_a_replayed_message_is_handled_once(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    inner = fake_wecom.text_xml(HAO, "/help", msg_id="7391234567890123456789")  # opaque, over 64 bits
    query, body = fake_wecom.envelope(inner)

    first = await wecom.post(body=body, query=query)
    replayed = await wecom.post(body=body, query=query)
    retried = await wecom.post(inner)  # WeCom's retry: new nonce and signature, same MsgId

    assert first == replayed == retried == (200, "")
    assert len(wecom.spy.handled) == 1
    assert len(fake_wecom.sent_to(HAO)) == 1
    assert wecom.channel.stats["duplicate"] == 2


async def test_a_message_for_another_agent_is_ignored(wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(HAO)
    inner = fake_wecom.text_xml(HAO, "/help").replace(str(fake_wecom.agent_id), "1000002")

    assert await wecom.post(inner) == (200, "")
    assert wecom.spy.handled == []


async def test_messages_of_one_member_are_handled_in_order(hao: WeComHarness, fake_wecom: FakeWeCom) -> None:
    texts = ["/report", "/cancel", "/mine", "/help", f"/project {CODE}"]
    bodies = [fake_wecom.envelope(fake_wecom.text_xml(HAO, t)) for t in texts]
    mark = len(hao.spy.handled)
    for query, body in bodies:  # acknowledged at once, handled one after another
        assert await fake_wecom.post_callback(hao.url, body=body, query=query) == (200, "")
    await hao.channel.idle(timeout=10)

    assert [m.text for m in hao.spy.handled[mark:]] == texts


async def test_a_reply_with_a_file_uploads_it_and_sends_it_after_the_text(
        fake_wecom: FakeWeCom, frozen_clock: FrozenClock, ledger_template: Path, tmp_path: Path) -> None:
    settings = wecom_settings(fake_wecom, DATA_DIR=str(tmp_path))
    core = await build_core(settings, frozen_clock, template=ledger_template)
    harness = WeComHarness(fake_wecom, core, settings)
    await harness.start()
    try:
        fake_wecom.add_user("Admin01")
        await bind_wecom(core.db, frozen_clock, userid="Admin01", person_name="管理员(区重大项目办)")

        exported = await harness.send("Admin01", "/export")

        assert exported.msgtypes[-1] == "file" and len(exported.msgtypes) == 2
        kind, filename, content = fake_wecom.media[exported.messages[-1]["file"]["media_id"]]
        assert kind == "file" and filename.startswith("重点项目台账_") and filename.endswith(".xlsx")
        assert content.startswith(b"PK") and content == next((tmp_path / "exports").iterdir()).read_bytes()
    finally:
        await harness.stop()
        await core.db.dispose()
