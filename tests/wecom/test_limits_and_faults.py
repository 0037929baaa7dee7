"""WeCom's own limits and faults, end to end through the callback and the outbox: what members send that the
bot cannot read, events it does not handle, callbacks WeCom retries, the access token expiring and the API's
frequency limit in the middle of a fan-out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from storage import people
from storage.models import ProblemEvent, Project
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness

CODE = "ZD2026-001"
# Liaisons of the sample ledger, bound in WeCom as L1, L2…
LIAISONS = ["郝芳", "武杰", "李海涛", "吴静", "郭明", "谢志刚", "曹磊", "潘霞"]
ADMIN = "Admin01"


@pytest.fixture
async def hao(wecom: WeComHarness) -> WeComHarness:
    await wecom.bind(HAO, "郝芳")
    return wecom


@pytest.mark.parametrize(("msgtype", "fields", "said"), [
    ("voice", {"MediaId": "m1", "Format": "amr"}, "暂时无法识别语音消息，请发送文字。"),
    ("video", {"MediaId": "m2", "ThumbMediaId": "t2"}, "暂时无法识别视频消息，请发送文字或现场照片。"),
    ("shortvideo", {"MediaId": "m3", "ThumbMediaId": "t3"}, "暂时无法识别视频消息，请发送文字或现场照片。"),
    ("location", {"Location_X": "36.06", "Location_Y": "103.83", "Scale": "15", "Label": "城北"},
     "暂时无法识别位置消息，请发送文字。"),
    ("link", {"Title": "通知", "Description": "d", "Url": "https://example.com/a", "PicUrl": ""},
     "暂时无法识别链接消息，请发送文字。"),
    ("miniprogram", {"Title": "小程序"}, "暂时无法识别这类消息，请发送文字。"),
    ("file", {"MediaId": "m4"},  # WeCom passes no file on: what the bot takes instead
     "收到一个文件，本系统不接收此类文件，该文件未保存。\n现场照片请以图片发送；填报、问题等请发送文字。"),
])
async def test_what_the_bot_cannot_read_is_answered_and_a_flow_keeps_waiting(
        hao: WeComHarness, fake_wecom: FakeWeCom, msgtype: str, fields: dict[str, str], said: str) -> None:
    alone = await hao.exchange(HAO, fake_wecom.message_xml(HAO, msgtype, fields))
    assert alone.texts == [f"{said}\n发送 /help 查看可用命令。"]

    await hao.send(HAO, "/report")
    await hao.press(HAO, f"{CODE} 城北高速连接线")
    in_flow = await hao.exchange(HAO, fake_wecom.message_xml(HAO, msgtype, fields))
    assert in_flow.texts == [f"{said}\n当前操作仍在等待您的回复：请按上一条提示用文字回复，或发送 /cancel 取消。"]
    assert "请输入形象进度" in await hao.send(HAO, "850")  # the flow went on where it was
    assert await hao.reports() == []


@pytest.mark.parametrize("event", [
    {"Event": "view", "EventKey": "https://example.com/web/"},
    {"Event": "LOCATION", "Latitude": "36.06", "Longitude": "103.83", "Precision": "30"},
    {"Event": "change_contact", "ChangeType": "update_user", "UserID": HAO},
    {"Event": "batch_job_result"},
    {"Event": "open_approval_change"},
    {"Event": "unsubscribe"},
])
async def test_events_the_bot_does_not_handle_are_acknowledged_and_left_alone(
        hao: WeComHarness, fake_wecom: FakeWeCom, event: dict[str, str]) -> None:
    mark = len(fake_wecom.calls)
    handled = len(hao.spy.handled)

    status = await hao.post(fake_wecom.event_xml(HAO, event.pop("Event"), event.pop("EventKey", ""), **event))

    assert status == (200, "")
    assert len(hao.spy.handled) == handled and fake_wecom.calls_of("message/send", since=mark) == []
    assert hao.channel.stats["failed"] == 0


async def test_a_card_press_retried_by_wecom_is_acted_on_once(hao: WeComHarness, fake_wecom: FakeWeCom) -> None:
    """WeCom posts an event again when it had no answer within 5 s, three times in all, with the same
    CreateTime (events have no MsgId): the press is handled once."""
    await hao.bind("ZhaoFang", "赵芳", "unit")
    await hao.send(HAO, f"/issue {CODE} 审批手续 施工许可迟迟未批")
    await hao.deliver_outbox()
    card = fake_wecom.find_card("ZhaoFang", "受理")
    press = fake_wecom.card_event_xml("ZhaoFang", card, "受理")
    mark = len(fake_wecom.calls)

    statuses = [await hao.post(press) for _ in range(3)]  # each with a fresh nonce and signature

    assert statuses == [(200, "")] * 3
    assert [shown for shown in fake_wecom.shown("ZhaoFang", since=mark)] == ["W0001 已受理。"]
    assert hao.channel.stats["duplicate"] == 2
    async with hao.session() as session:
        accepted = await session.scalar(select(func.count()).select_from(ProblemEvent)
                                        .where(ProblemEvent.kind == "accepted"))
    assert accepted == 1


async def _fan_out(wecom: WeComHarness, fake: FakeWeCom) -> list[str]:
    """Every liaison of LIAISONS bound in WeCom, and an admin's broadcast to them queued; their userids."""
    userids = [f"L{n}" for n in range(1, len(LIAISONS) + 1)]
    for userid, name in zip(userids, LIAISONS, strict=True):
        await wecom.bind(userid, name)
    await wecom.bind(ADMIN, "管理员(区重大项目办)", "admin")
    asked = await wecom.send(ADMIN, "/broadcast 联络员 明天上午九点召开调度会")
    assert asked.buttons == ["确认发送（42 人）", "取消"]
    done = await wecom.press(ADMIN, "确认发送（42 人）")
    assert "已向" in done.text
    return userids


async def test_the_access_token_expiring_in_the_middle_of_a_fan_out_loses_and_repeats_nothing(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    userids = await _fan_out(wecom, fake_wecom)
    grants = fake_wecom.token_grants
    mark = len(fake_wecom.calls)
    fake_wecom.expire_tokens(after_sends=3)

    await wecom.deliver_outbox()

    notice = "📢 通知（来自 管理员(区重大项目办)）\n明天上午九点召开调度会"
    for userid in userids:
        assert fake_wecom.shown(userid, since=mark) == [notice], userid
    refused = [c for c in fake_wecom.calls_of("message/send", since=mark) if c.errcode]
    assert refused and {c.errcode for c in refused} == {42001}
    assert fake_wecom.token_grants == grants + 1  # fetched again once, for every send in flight


async def test_the_api_frequency_limit_in_the_middle_of_a_fan_out_delays_and_repeats_nothing(
        wecom: WeComHarness, fake_wecom: FakeWeCom) -> None:
    userids = await _fan_out(wecom, fake_wecom)
    mark = len(fake_wecom.calls)
    fake_wecom.inject_fault("message/send", errcode=45009, times=2, after=3)

    await wecom.deliver_outbox()
    reached = [u for u in userids if fake_wecom.shown(u, since=mark)]
    assert len(reached) == len(userids) - 2  # two were told to wait
    wecom.clock.advance(seconds=61)
    await wecom.deliver_outbox()

    for userid in userids:
        assert len(fake_wecom.shown(userid, since=mark)) == 1, userid


async def test_a_liaison_of_many_projects_turns_the_pages_of_the_project_list(hao: WeComHarness) -> None:
    """The project list of /report comes ten to a page in WeCom as in Telegram (more than a card's six buttons:
    a numbered list), and 下一页 is answered by its number."""
    async with hao.session() as session:
        [person] = await people.find_people_by_name(session, name="郝芳")
        codes = list((await session.scalars(select(Project.code).order_by(Project.code))).all())
        await session.execute(update(Project).values(liaison_id=person.id))
    first = await hao.send(HAO, "/report")
    assert f"共 {len(codes)} 个项目，第 1/5 页" in first.text, first.text
    second = await hao.press(HAO, "下一页")
    assert "第 2/5 页" in second.text and codes[10] in second.text and codes[0] not in second.text
    picked = await hao.press(HAO, next(label for label in await numbered(hao) if label.startswith(codes[12])))
    assert "请输入本期完成投资" in picked.text and codes[12] in picked.text


async def numbered(wecom: WeComHarness) -> list[str]:
    return [b.label for b in await wecom.channel.transport.numbered_choices(HAO)]
