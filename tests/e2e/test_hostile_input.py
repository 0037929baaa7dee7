"""The hostile world a liaison's phone makes, through the real python-telegram-bot Application and the fake Bot
API (which refuses what Telegram refuses: bad HTML, texts over 4,096 characters): what Chinese keyboards and
copy-paste put into a command, albums and photos sent as files, stickers and voice notes where text is
expected, group chats, edited and forwarded messages, the same update twice and two at once. Each gets a
sensible Chinese answer or deliberate silence, and nothing is stored twice or lost.

郝芳 (1001) is the liaison of ZD2026-001; the clock is Friday 2026-11-20 10:00, a working day.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.domain.limits import PHOTO_FILE_MAX, PROGRESS_TEXT_MAX
from storage import people
from storage.models import Person, Project, ReportPhoto
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_albums import answer
from tests.fakes.bot_api import MAX_TEXT, parse_telegram_html, utf16_len

HAO = 1001
CODE = "ZD2026-001"
GROUP = -4001
ADMIN = 9001


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


async def photo_count(tg: TelegramHarness) -> int:
    [report] = await tg.reports()
    async with tg.session() as session:
        return len((await session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id))).all())


@pytest.mark.parametrize("line", [
    f"/report\u3000{CODE} 850 桩基施工",  # a full-width space after the command (a Chinese keyboard)
    f"/report\n{CODE} 850 桩基施工",  # the arguments on the next line
    f"／report {CODE} 850 桩基施工",  # a full-width slash
    f"/report \u200b{CODE}\u200b 850\ufeff 桩基施工",  # zero-width spaces and a BOM copied from a document
    f"/report \u202a{CODE}\u202c \u200e850 桩基施工",  # marks of writing direction (copied on an iPhone)
    "/report ＺＤ２０２６－００１ ８５０ 桩基施工",  # the code and amount in full-width letters and digits
    f"{CODE} 850 桩基施工",  # the report line without /report
    f"/REPORT@diaodu_bot {CODE} 850 桩基施工",
    f"/report {CODE} 850万桩基施工",  # typed without spaces, as Chinese is
    f"{CODE}，850万元，桩基施工",
    "ZD2026\u2011001 850 桩基施工",  # the non-breaking hyphen Word puts in a code (copied from a document)
    "ZD2026\u2013001 850 桩基施工",  # an en dash (a phone's smart punctuation)
    f"\u200d{CODE}\u200c 850 桩基施工",  # zero-width joiners left by copy-paste
])
async def test_what_keyboards_and_copy_paste_make_of_a_report_line_is_still_a_report(
        tg: TelegramHarness, line: str) -> None:
    saved = await tg.send(HAO, line)
    assert "已记录填报" in saved and "850.0 万元" in saved, saved
    [report] = await tg.reports()
    assert report.amount == Decimal(850) and report.progress_text == "桩基施工"


@pytest.mark.parametrize(("written", "wan"), [("1.2亿", "12000"), ("3000万", "3000"), ("１２００万元", "1200"),
                                              ("1,200.5", "1200.5"), ("三千万", "3000")])
async def test_amounts_as_people_write_them(tg: TelegramHarness, written: str, wan: str) -> None:
    saved = await tg.send(HAO, f"/report {CODE} {written} 主体施工")
    assert "已记录填报" in saved
    assert [r.amount for r in await tg.reports()] == [Decimal(wan)]


@pytest.mark.parametrize(("written", "why"), [
    ("-500", "不能为负数"), ("8.5e3", "无法识别金额"),
    ("40800000", "金额过大"), ("408亿", "超过项目 ZD2026-001 剩余总投资"),  # 1,000× and 100× the annual plan
    ("1²", "无法识别金额"), ("50%", "百分比"),
])
async def test_negative_absurd_and_odd_amounts_are_refused_and_nothing_stored(
        tg: TelegramHarness, written: str, why: str) -> None:
    refused = await tg.send(HAO, f"/report {CODE} {written} 主体施工")
    assert why in refused and "未保存" in refused, refused
    assert "\n未保存" not in refused.text or "。\n未保存" in refused.text, refused  # the reason ends its sentence
    assert await tg.report_count() == 0


async def test_users_markup_quotes_and_emoji_are_shown_as_typed_and_stored_as_typed(tg: TelegramHarness) -> None:
    progress = '<b>主体</b> & "封顶" \'在即\' 😀👷‍♂️ a<b'
    saved = await tg.send(HAO, f"/report {CODE} 850 {progress}")
    assert parse_telegram_html(saved.text).count(progress) == 1  # escaped: shown exactly as typed
    [report] = await tg.reports()
    assert report.progress_text == progress  # the zero-width joiner of the emoji kept


async def test_a_5000_character_note_is_refused_whole_and_one_at_the_limit_fits_telegram(tg: TelegramHarness) -> None:
    refused = await tg.send(HAO, f"/report {CODE} 850 " + "桩基施工&<>" * 700)  # 4,900 characters
    assert f"最多 {PROGRESS_TEXT_MAX} 个字" in refused and "未保存" in refused
    assert await tg.report_count() == 0
    stored = await tg.send(HAO, f"/report {CODE} 850 " + "<&>" * (PROGRESS_TEXT_MAX // 3))
    assert "已记录填报" in stored  # its confirmation, escaped (each character 4–5 long), still went through
    assert all(utf16_len(parse_telegram_html(t)) <= MAX_TEXT for t in stored.texts)


async def test_forty_projects_with_long_names_are_listed_whole_over_several_messages(tg: TelegramHarness) -> None:
    async with tg.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        codes = list((await session.scalars(select(Project.code).order_by(Project.code).limit(40))).all())
        for n, code in enumerate(codes):
            await session.execute(update(Project).where(Project.code == code).values(
                liaison_id=hao.id, name=f"第{n}号<片区>&“城市更新”" + "配套基础设施建设工程" * 8))
    mine = await tg.send(HAO, "/mine")
    assert len(mine.messages) >= 2  # too long for one message: split, each valid Telegram-HTML within the limit
    shown = "\n".join(parse_telegram_html(t) for t in mine.texts)
    assert all(code in shown for code in codes)
    assert all(f"第{n}号<片区>&“城市更新”" in shown for n in range(40))


async def test_an_album_of_ten_is_one_report_with_ten_photos(tg: TelegramHarness) -> None:
    """Telegram sends an album as one message per photo, the caption on the first."""
    answers = []
    for n in range(10):
        fields = {"media_group_id": "13579", "photo": [{"file_id": tg.fake.add_file(), "file_unique_id": f"a{n}",
                                                        "width": 1280, "height": 960, "file_size": 200_000}]}
        if n == 0:
            fields["caption"] = f"{CODE} 850万 桩基完成"
        answers.append(await tg.message(HAO, fields))
    assert "已记录填报" in answers[0] and "照片 1 张" in answers[0]
    assert all(a.messages == [] for a in answers[1:]), answers  # the other nine are answered once
    assert "现有照片 10 张" in await answer(tg)
    assert "没有说明" not in "".join(a.text for a in answers)
    assert await photo_count(tg) == 10 and await tg.report_count() == 1

    # The next album's photos do not join today's report once it is withdrawn: said, not silently lost.
    await tg.send(HAO, "/undo")
    late = await tg.message(HAO, {"media_group_id": "13579", "photo": [
        {"file_id": tg.fake.add_file(), "file_unique_id": "a10", "width": 1, "height": 1, "file_size": 1}]})
    assert late.messages == []
    assert "已撤回或已被替换，照片未保存" in await answer(tg)


async def test_an_album_whose_report_asks_to_replace_keeps_its_photos_for_the_answer(tg: TelegramHarness) -> None:
    assert "已记录填报" in await tg.send(HAO, f"/report {CODE} 500 桩基")
    first = {"media_group_id": "2468", "caption": f"{CODE} 850 桩基完成",
             "photo": [{"file_id": tg.fake.add_file(), "file_unique_id": "b0", "width": 1, "height": 1}]}
    assert "已有一条填报" in await tg.message(HAO, first)
    for n in (1, 2):
        kept = await tg.message(HAO, {"media_group_id": "2468", "photo": [
            {"file_id": tg.fake.add_file(), "file_unique_id": f"b{n}", "width": 1, "height": 1}]})
        assert kept.messages == []  # the rest of the album is answered once, a moment after its last part
    assert "现有 3 张" in await answer(tg)
    replaced = await tg.press(HAO, "确认替换")
    assert "照片 3 张" in replaced.text
    assert await photo_count(tg) == 3


async def test_a_photo_sent_as_a_file_is_a_photo_and_one_too_big_is_refused_saying_so(tg: TelegramHarness) -> None:
    file_id = tg.fake.add_file()
    saved = await tg.message(HAO, {"caption": f"{CODE} 100 承台施工", "document": {
        "file_id": file_id, "file_unique_id": "d1", "file_name": "IMG_2041.JPG", "mime_type": "image/jpeg",
        "file_size": 6_000_000}})
    assert "已记录填报" in saved and "照片 1 张" in saved
    async with tg.session() as session:
        assert (await session.scalars(select(ReportPhoto.file_id))).all() == [file_id]

    big = {"document": {"file_id": tg.fake.add_file(), "file_unique_id": "d2", "file_name": "全景.png",
                        "mime_type": "image/png", "file_size": PHOTO_FILE_MAX + 1}}
    assert "超过 20 MB，无法保存" in await tg.message(HAO, big)
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    await tg.send(HAO, "850")
    await tg.send(HAO, "主体施工")
    in_flow = await tg.message(HAO, big)
    assert "超过 20 MB，无法保存" in in_flow and "完成（不再上传照片）" in in_flow.buttons


@pytest.mark.parametrize(("fields", "said", "in_flow"), [
    ({"sticker": {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                  "is_animated": False, "is_video": False, "emoji": "👍"}},
     "暂时无法识别表情消息", "当前操作仍在等待您的回复"),
    ({"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 4}}, "暂时无法识别语音消息",
     "当前操作仍在等待您的回复"),
    ({"document": {"file_id": "f1", "file_unique_id": "f1", "file_name": "进度.docx", "file_size": 30_000}},
     "收到文件「进度.docx」，本系统不接收此类文件，该文件未保存", "请输入本期完成投资"),  # the step asks again
])
async def test_stickers_voice_and_files_where_text_is_expected_are_answered(
        tg: TelegramHarness, fields: dict, said: str, in_flow: str) -> None:
    assert said in await tg.message(HAO, fields)
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    asked = await tg.message(HAO, fields)
    assert in_flow in asked and said in asked
    assert "本期完成投资：850" in await tg.send(HAO, "850")  # the flow waited: the amount is taken
    assert await tg.report_count() == 0


async def test_a_video_or_voice_note_with_a_caption_is_said_not_kept_and_its_words_read(tg: TelegramHarness) -> None:
    """A site video captioned with a report line stores the report, and says the video was not kept (it used to go
    unmentioned, as if it went with the report); words that are no report are answered as a video alone is; a voice
    note's caption answers a guided step."""
    video = {"video": {"file_id": "v1", "file_unique_id": "v1", "width": 640, "height": 360, "duration": 9}}
    saved = await tg.message(HAO, {**video, "caption": f"{CODE} 850 桩基施工"})
    assert "已记录填报" in saved and "收到的视频未保存（本系统只保存现场照片）" in saved, saved
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]
    chatter = await tg.message(HAO, {**video, "caption": "看看现场"})
    assert "暂时无法识别视频消息" in chatter and "没有看懂" not in chatter.text, chatter
    await tg.send(HAO, "/undo")
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    voice = {"voice": {"file_id": "a1", "file_unique_id": "a1", "duration": 3}, "caption": "900"}
    step = await tg.message(HAO, voice)
    assert "本期完成投资：900" in step and "收到的语音未保存" in step, step


async def test_in_a_group_a_report_is_pointed_to_the_private_chat_and_chatter_left_alone(tg: TelegramHarness) -> None:
    tg.fake.group(GROUP, title="城北片区调度群")
    pointed = await tg.send(HAO, f"/report@diaodu_bot {CODE} 850 桩基", chat_id=GROUP)
    assert pointed.text.startswith("请私聊我")
    for chatter in (f"{CODE} 850 桩基", "今天桩基完成了", "/report@other_bot ZD2026-001 850 x"):
        assert (await tg.send(HAO, chatter, chat_id=GROUP)).messages == []
    assert await tg.report_count() == 0


async def test_edited_and_forwarded_messages(tg: TelegramHarness) -> None:
    sent = tg.fake.enqueue_text(HAO, f"/report {CODE} 850 桩基")
    await tg.wait_processed(sent["update_id"])
    mark = len(tg.fake.calls)
    edited = dict(sent["message"], text=f"/report {CODE} 8500 桩基", edit_date=int(time.time()))
    update_ = tg.fake.enqueue_update({"edited_message": edited})
    await tg.wait_processed(update_["update_id"])
    [answer] = tg.fake.texts(HAO, since=mark)
    assert "修改已发送的消息不会被重新读取" in answer and "/correct" in answer
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]  # the edit changed nothing

    # A forwarded report line is the forwarder's own message (the liaison relays what the site sent).
    wu = {"id": 1002, "is_bot": False, "first_name": "武杰"}
    forwarded = await tg.message(HAO, {
        "caption": "ZD2026-002 100 清表完成",
        "forward_origin": {"type": "user", "date": int(time.time()), "sender_user": wu},
        "photo": [{"file_id": tg.fake.add_file(), "file_unique_id": "f0", "width": 1, "height": 1}]})
    assert "您不是项目 ZD2026-002" in forwarded, forwarded
    assert await tg.report_count() == 1


async def test_an_album_photo_delivered_twice_joins_its_report_once(tg: TelegramHarness) -> None:
    """Telegram did not hear the answer and sends the update again (a new update id, the same message)."""
    first = {"media_group_id": "777", "caption": f"{CODE} 850 桩基",
             "photo": [{"file_id": tg.fake.add_file(), "file_unique_id": "p0", "width": 1, "height": 1}]}
    assert "已记录填报" in await tg.message(HAO, first)
    update_ = tg.fake.text_update(HAO, "")
    del update_["message"]["text"]
    update_["message"].update({"media_group_id": "777", "photo": [
        {"file_id": tg.fake.add_file(), "file_unique_id": "p1", "width": 1, "height": 1}]})
    mark = len(tg.fake.calls)
    tg.fake.enqueue_update(update_)
    await tg.wait_processed(update_["update_id"])
    again = tg.fake.enqueue_update({"message": dict(update_["message"])})
    await tg.wait_processed(again["update_id"])
    assert tg.fake.texts(HAO, since=mark) == []  # answered once the album has all come: once
    assert "现有照片 2 张" in await answer(tg)
    assert await photo_count(tg) == 2


async def test_two_reports_of_one_project_at_the_same_moment_count_once(tg: TelegramHarness) -> None:
    one = tg.fake.enqueue_text(HAO, f"/report {CODE} 850 桩基")
    two = tg.fake.enqueue_text(HAO, f"/report {CODE} 900 桩基")
    await tg.wait_processed(one["update_id"])
    await tg.wait_processed(two["update_id"])
    texts = tg.fake.texts(HAO)
    assert sum("已记录填报" in t for t in texts) == 1 and sum("已有一条填报" in t for t in texts) == 1
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]


async def test_a_deactivated_liaison_is_told_whatever_they_send(tg: TelegramHarness) -> None:
    async with tg.session() as session:
        [hao] = await people.find_people_by_name(session, name="郝芳")
        await session.execute(update(Person).where(Person.id == hao.id).values(active=False))
    for fields in ({"text": f"{CODE} 850 桩基"}, {"photo": [{"file_id": "x", "file_unique_id": "x", "width": 1,
                                                            "height": 1}], "media_group_id": "1"}):
        assert "您的账号已停用" in await tg.message(HAO, fields)
    more = {"photo": [{"file_id": "y", "file_unique_id": "y", "width": 1, "height": 1}], "media_group_id": "1"}
    assert (await tg.message(HAO, more)).messages == []  # told once per album, not once per photo
    assert await tg.report_count() == 0


async def test_the_guided_amount_step_answered_with_amount_and_progress_takes_both(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    both = await tg.send(HAO, "850万 桩基完成")
    assert "850万 = 850.0 万元；形象进度：桩基完成" in both and "完成（不再上传照片）" in both.buttons
    summary = await tg.press(HAO, "完成（不再上传照片）")
    assert "形象进度：桩基完成" in summary
    assert "已记录填报" in await tg.press(HAO, "确认")
    [report] = await tg.reports()
    assert (report.amount, report.progress_text) == (Decimal(850), "桩基完成")


async def test_stage_reports_and_lookups_read_codes_and_spaces_as_typed(tg: TelegramHarness) -> None:
    shown = await tg.send(HAO, "/project ＺＤ２０２６－００１")
    assert "城北高速连接线" in shown and "没有找到" not in shown.text
    pasted = await tg.send(HAO, "/project ZD2026\u2011001")  # a code copied from a Word document
    assert "城北高速连接线" in pasted and "没有找到" not in pasted.text and "ZD2026-002" not in pasted.text, pasted
    tg.clock.set(tg.clock.now().replace(day=18))
    finished = await tg.send(HAO, f"/finished {CODE.lower()}\u300011月18日")
    assert "已报告 ZD2026-001 城北高速连接线 于 2026-11-18 竣工" in finished, finished


async def test_photos_sent_before_the_photos_step_are_kept(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    early = await tg.message(HAO, {"photo": [{"file_id": tg.fake.add_file(), "file_unique_id": "e1", "width": 1,
                                               "height": 1}]})
    assert "现有 1 张，将随这条填报一并保存" in early and "输入本期完成投资" in early
    await tg.message(HAO, {"caption": "850", "photo": [{"file_id": tg.fake.add_file(), "file_unique_id": "e2",
                                                        "width": 1, "height": 1}]})
    asked = await tg.send(HAO, "桩基施工")
    assert "已收到 2 张照片" in asked
    await tg.press(HAO, "完成（不再上传照片）")
    assert "照片 2 张" in await tg.press(HAO, "确认")
    assert await photo_count(tg) == 2


async def test_an_invite_code_pasted_with_its_wrapping_binds_and_one_shown_in_a_group_is_revoked(
        telegram: TelegramHarness) -> None:
    tg = telegram
    code = await tg.invite("武杰")
    bound = await tg.send(1002, f"邀请码：「{code}」。")
    assert "已绑定" in bound, bound
    tg.fake.group(GROUP, title="城北片区调度群")
    shown = await tg.invite("郝芳")
    assert "请私聊我" in await tg.send(1001, f"“{shown}”", chat_id=GROUP)
    assert "已作废" in await tg.send(1001, f"/start {shown}")


async def test_an_update_the_library_cannot_read_is_skipped_and_the_next_ones_are_served(
        tg: TelegramHarness, caplog: pytest.LogCaptureFixture) -> None:
    """A poll whose options lack a field python-telegram-bot requires (as an update of another Bot API version
    may): before, every getUpdates answer holding it failed as a whole, and no one's message was handled again."""
    unreadable = tg.fake.text_update(HAO, "")
    del unreadable["message"]["text"]
    unreadable["message"]["poll"] = {"id": "1", "question": "几点开会？",
                                     "options": [{"text": "九点", "voter_count": 0}], "total_voter_count": 0,
                                     "is_closed": False, "is_anonymous": True, "type": "regular",
                                     "allows_multiple_answers": False}
    tg.fake.enqueue_update(unreadable)
    after = await tg.send(HAO, f"/report {CODE} 850 桩基施工")
    assert "已记录填报" in after, after
    assert any(f"skipped Telegram update {unreadable['update_id']}" in r.getMessage() for r in caplog.records)
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]


def _file(name: str, mime: str = "application/octet-stream") -> dict:
    return {"document": {"file_id": f"f-{name}", "file_unique_id": f"u-{name}", "file_name": name,
                         "mime_type": mime, "file_size": 40_000}}


async def test_a_file_is_answered_with_what_the_bot_takes_instead(tg: TelegramHarness) -> None:
    pdf = await tg.message(HAO, _file("现场照片汇总.pdf", "application/pdf"))
    assert "收到文件「现场照片汇总.pdf」" in pdf and "该文件未保存" in pdf and "现场照片请以图片发送" in pdf, pdf
    assert "没有看懂" not in pdf

    ledger = await tg.message(HAO, _file("台账.xlsx"))  # a liaison: the ledger is the 区项目办's to import
    assert "项目台账由区项目办管理员导入" in ledger and "/import" not in ledger, ledger

    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    pointed = (await tg.message(ADMIN, _file("台账.xlsx"))).text
    assert "请先发送 /import，再发送该文件" in pointed, pointed

    # A file sent with a report line: the report is stored, and the liaison told the file was not.
    both = await tg.message(HAO, {**_file("签证单.pdf", "application/pdf"), "caption": f"{CODE} 100 承台施工"})
    assert "已记录填报" in both and "收到文件「签证单.pdf」" in both and "该文件未保存" in both, both
    assert await tg.report_count() == 1


_FILE = {"file_id": "k1", "file_unique_id": "k1"}
_SPOT = {"latitude": 34.27, "longitude": 108.95}


def _poll(question: str, **kind: object) -> dict:
    """A poll (or quiz) as the Bot API carries it in a message."""
    options = [{"text": text, "voter_count": 0, "persistent_id": f"o{n}"} for n, text in enumerate(("是", "否"))]
    return {"id": question, "question": question, "options": options, "total_voter_count": 0, "is_closed": False,
            "is_anonymous": True, "allows_multiple_answers": False, "allows_revoting": False,
            "members_only": False, **kind}


@pytest.mark.parametrize(("fields", "named"), [
    ({"poll": _poll("明天开调度会？", type="regular")}, "投票"),
    ({"poll": _poll("开工日期？", type="quiz", correct_option_id=0)}, "投票"),
    ({"dice": {"emoji": "🎲", "value": 4}}, "骰子"),
    ({"location": _SPOT}, "位置"),
    ({"location": _SPOT, "venue": {"location": _SPOT, "title": "城北项目部", "address": "城北路1号"}}, "位置"),
    ({"contact": {"phone_number": "13800000000", "first_name": "王五"}}, "名片"),
    ({"sticker": {**_FILE, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                  "is_video": False}}, "表情"),
    ({"story": {"chat": {"id": 2002, "type": "private", "first_name": "王五"}, "id": 5}}, "快拍"),
    ({"audio": {**_FILE, "duration": 30}}, "语音"),
    ({"video_note": {**_FILE, "length": 240, "duration": 5}}, "视频"),
    ({"game": {"title": "2048", "description": "小游戏", "photo": [{**_FILE, "width": 90, "height": 90}]}}, "游戏"),
    ({"checklist": {"title": "本周事项", "tasks": [{"id": 1, "text": "报进度"}]}}, "清单"),
])
async def test_whatever_telegram_lets_a_user_send_in_private_is_answered_with_what_the_bot_takes(
        tg: TelegramHarness, fields: dict, named: str) -> None:
    """A poll, a dice, a location, a contact, a story…: never silence; the answer names what was sent and says
    that the bot takes text."""
    answered = await tg.message(HAO, fields)
    assert f"暂时无法识别{named}消息，请发送文字" in answered and "发送 /help 查看可用命令" in answered, answered
    assert await tg.report_count() == 0
