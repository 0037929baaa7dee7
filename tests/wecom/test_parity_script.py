"""One script of messages, the same people, on Telegram and on WeCom: what each person is told must be the same.

The script is a week of real use on the sample ledger: a liaison's day (help, /mine, a one-shot and a guided
report with a photo, /undo, a problem raised, /issues, /project, /node, /leave, a correction the next
working day), the unit's handler answering the problem, the lead official's /issues, 批示 and weekly digest,
and the admin's commands. Each step runs on both channels (the real PTB application against the fake Bot
API; the real WeCom callback against the fake WeCom), the outbox is delivered, and for every person what
reached them is compared after removing only what belongs to the channel:

- Telegram HTML → the text shown; WeCom text, markdown (as its client shows it) and cards (title and
  subtitle) → the text shown; user text that WeCom shows with full-width twins of ``*``, ``<`` … is read
  as the characters typed (NFKC);
- buttons: Telegram's inline keyboard labels; WeCom's card buttons or numbered choices ("[1] …" and the
  line 回复序号选择 asking for a number); a card button shortened to WeCom's 10 characters is read as the
  card's text lists it in full ("① …", a line left out); buttons that open an address (Telegram only) are
  left out;
- a card sent after the text it could not hold repeats its first line: that repetition is left out;
- files: a photo or a document, whatever its message type;
- the channel's own name (labels.CHANNELS: Telegram / 企业微信应用) and what can only differ by channel (invite
  codes, one-time links) are replaced by placeholders.

Anything else that differs is a bug in the shared core.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from bot.domain.periods import parse_period
from jobs import digests, escalation, reminders
from tests.e2e.harness import TelegramHarness
from tests.wecom.harness import WeComHarness
from tests.wecom.parity import (
    CODE,
    PEOPLE,
    PROJECT,
    Run,
    TelegramSide,
    WeComSide,
    at,
    core_of,
    tg_settings,  # noqa: F401 - a fixture: one deployment serving both channels
    wc_settings,  # noqa: F401 - a fixture
)


async def test_a_week_of_use_tells_everyone_the_same_on_both_channels(
        telegram: TelegramHarness, wecom: WeComHarness) -> None:
    run = Run([TelegramSide(telegram), WeComSide(wecom)])
    clock = telegram.clock
    assert clock is wecom.clock  # one clock drives both cores

    async def bind_all(side: Any) -> None:
        for who in PEOPLE:
            await side.bind(who)

    await run.step("binding everyone", job=bind_all)

    # Friday 2026-11-20 10:00: a liaison's day.
    for label, who, action, value in [
        ("liaison /help", "hao", "send", "/help"),
        ("liaison /mine", "hao", "send", "/mine"),
        ("one-shot report", "hao", "send", f"/report {CODE} 1.2亿 主体结构完成60%"),
        ("undo", "hao", "send", "/undo"),
        ("guided report", "hao", "send", "/report"),
        ("guided: project", "hao", "press", PROJECT),
        ("guided: amount", "hao", "send", "850"),
        ("guided: a voice message", "hao", "other", "voice"),
        ("guided: progress", "hao", "send", "桩基完成<80%>&承台*二期*"),
        ("guided: photo", "hao", "photo", ""),
        ("guided: done with photos", "hao", "press", "完成（不再上传照片）"),
        ("guided: confirm", "hao", "press", "确认"),
        ("mine after reporting", "hao", "send", "/mine"),
        ("project card", "hao", "send", f"/project {CODE}"),
        ("node", "hao", "send", "/node"),
        ("issue one-shot", "hao", "send", f"/issue {CODE} 审批手续 施工许可迟迟未批"),
        ("issues (liaison)", "hao", "send", "/issues"),
        ("leave", "hao", "send", "/leave 12-10 12-15"),
        ("unknown text", "hao", "send", "你好"),
        ("a location", "hao", "other", "location"),
        # the unit's handler
        ("unit /issues", "zhao", "send", "/issues"),
        ("unit /help", "zhao", "send", "/help"),
        ("unit accepts", "zhao", "send", "/accept W0001"),
        ("unit answers", "zhao", "send", "/answer W0001 已协调审批部门，下周办结"),
        # the lead official
        ("lead /issues", "liu", "send", "/issues"),
        ("lead looks at the problem", "liu", "send", "/issue W0001"),
        ("lead comments", "liu", "send", "/comment W0001 请住建局加快办理"),
        ("lead /rank", "liu", "send", "/rank"),
        ("unit resolves", "zhao", "send", "/resolved W0001 施工许可已核发"),
        ("liaison confirms", "hao", "send", "/confirm W0001"),
        ("issues closed", "hao", "send", "/issues 全部"),
        # the admin
        ("admin /help", "admin", "send", "/help"),
        ("admin /people", "admin", "send", "/people"),
        ("admin /person", "admin", "send", "/person 郝芳"),
        ("admin /sla", "admin", "send", "/sla"),
        ("admin /calendar", "admin", "send", "/calendar"),
        ("admin /schedule", "admin", "send", "/schedule"),
        ("admin /meeting", "admin", "send", "/meeting"),
        ("admin /decide", "admin", "send", "/decide 城北片区征迁攻坚 区住建局 12月18日"),
        ("admin /outbox", "admin", "send", "/outbox"),
        ("admin /audit", "admin", "send", f"/audit {CODE}"),
        ("admin /project_set", "admin", "send", f"/project_set {CODE} 总投资 90000"),
        ("admin /broadcast", "admin", "send", "/broadcast lead 周一上午九点召开调度会"),
        ("admin /export", "admin", "send", "/export"),
        ("admin /invite", "admin", "send", "/invite liaison 武杰"),
        ("admin /groups", "admin", "send", "/groups"),
        ("admin /import", "admin", "send", "/import"),
        ("admin cancels", "admin", "send", "/cancel"),
        ("admin /leave 全部", "admin", "send", "/leave 全部"),
        ("top /rank 填报", "wang", "send", "/rank 填报"),
        ("top /web", "wang", "send", "/web"),
        ("top /issues", "wang", "send", "/issues"),
        ("liaison /halfmonth", "hao", "send", "/halfmonth"),
        ("liaison cancels", "hao", "send", "/cancel"),
        ("liaison marks a node", "hao", "send", f"/node {CODE}"),
        ("node: which", "hao", "press", "ZD2026-001 路基完成"),
    ]:
        await run.step(label, who, action, value)

    # Monday 2026-11-23: a correction, the reminders, the escalation tick and the weekly bulletin.
    clock.set(at(11, 23, 9, 5))

    async def weekly(side: Any) -> None:
        core = await core_of(side)
        await digests.produce(core.db, core.deps.renderer, period=parse_period("weekly", "2026-W47"),
                              now=clock.now(), files_root=core.settings.data_dir)

    await run.step("weekly bulletin and digests", job=weekly)
    clock.set(at(11, 23, 10))
    for label, who, action, value in [
        ("correction asked", "hao", "send", f"/correct {CODE} 11-20 900 桩基完成 理由：多写了50万"),
        ("correction confirmed", "hao", "press", "确认更正"),
        ("issue guided", "hao", "send", "/issue"),
        ("issue guided: project", "hao", "press", PROJECT),
        ("issue guided: category", "hao", "press", "用地"),
        ("issue guided: text", "hao", "send", "还有12户未签约"),
    ]:
        await run.step(label, who, action, value)

    async def tick(side: Any) -> None:
        core = await core_of(side)
        await escalation.run(core.db, clock, core.deps.renderer)

    async def remind(side: Any) -> None:
        core = await core_of(side)
        await reminders.run(core.db, clock.now(), core.deps.renderer, slot=time(18, 0))

    clock.set(at(11, 24, 18, 0))
    await run.step("18:00 reminders", job=remind)
    clock.set(at(11, 25, 18, 0))
    await run.step("escalation tick", job=tick)
    await run.step("lead /issues after the tick", "liu", "send", "/issues")

    assert len(run.log) > 50
    # the script did what it says (and two things once told wrong on both channels)
    assert "✅ 已更正 ZD2026-001 城北高速连接线 2026-11-20 的填报:本期完成投资 850.0 万元 → 900.0 万元;形象进度" \
        "「桩基完成<80%>&承台*二期*」→「桩基完成」。" in run.told["correction confirmed"]["hao"].lines
    assert "更正理由:多写了50万" in run.told["correction asked"]["hao"].lines  # its own line
    assert "W0001 ZD2026-001 审批手续,已销号" in run.told["issues closed"]["hao"].lines  # not "办理中"
    assert run.told["weekly bulletin and digests"]["wang"].files == ["photo"]
    assert run.told["admin /export"]["admin"].files == ["document"]
    assert "W0001 已确认销号。" in run.told["liaison confirms"]["hao"].lines
    assert run.told["guided: a voice message"]["hao"].lines == [
        "暂时无法识别语音消息,请发送文字。", "当前操作仍在等待您的回复:请按上一条提示用文字回复,或发送 /cancel 取消。"]
    assert run.told["a location"]["hao"].lines == ["暂时无法识别位置消息,请发送文字。", "发送 /help 查看可用命令。"]
    assert not run.mismatches, "\n\n".join(run.mismatches)
