"""The problem's whole life through its buttons, the guided flows and every role's help, on both channels.

Where ``test_parity_script`` types commands, this script mostly presses what the notices offer: the unit
受理 and 答复 from the card it was sent, a promised date past the deadline becomes an extension request the
lead official 同意延期 from his notice, the lead's 批示 and 查看详情, the unit's 已解决, the liaison's 未解决 and
then 确认销号; 不同意 on a later extension asks the lead official why, and the unit is told; a second problem
the unit asks to have moved (申请改派) and the admin 驳回; the guided /correct, /answer and /comment typed
without their text, mistakes typed (a bad amount, an unknown project or command), and the admin's commands
that change things. Each step runs on Telegram and on WeCom, and what each person was told is compared as
``tests.wecom.parity`` describes.
"""

from __future__ import annotations

import os

from jobs import escalation
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

SHOW = bool(os.environ.get("PARITY_SHOW"))  # print what Telegram's side was told, step by step


SCRIPT = [
    ("lead /help", "liu", "send", "/help"),
    ("top /help", "wang", "send", "/help"),
    # a problem raised step by step, then worked through the buttons on its notices
    ("issue guided", "hao", "send", "/issue"),
    ("issue guided: project", "hao", "press", PROJECT),
    ("issue guided: category", "hao", "press", "审批手续"),
    ("issue guided: text", "hao", "send", "施工许可迟迟未批"),
    ("issue guided: no photos", "hao", "press", "完成（不再上传照片）"),
    ("issue guided: unit", "hao", "press", "牵头单位：区住建局"),
    ("issue guided: confirm", "hao", "press", "确认"),
    ("unit presses 受理", "zhao", "press", "受理"),
    ("unit presses 答复", "zhao", "press", "答复"),
    ("unit answers past the deadline", "zhao", "send", "2027-03-01 协调审批部门联合审查"),
    ("lead presses 同意延期", "liu", "press", "同意延期"),
    ("lead looks at the problem", "liu", "send", "/issue W0001"),
    ("lead presses 批示", "liu", "press", "批示"),
    ("lead writes 批示", "liu", "send", "请住建局<加快>办理"),
    ("unit looks at the problem", "zhao", "send", "/issue W0001"),
    ("unit presses 已解决", "zhao", "press", "已解决"),
    ("unit writes the result", "zhao", "send", "施工许可已核发"),
    ("liaison presses 未解决", "hao", "press", "未解决"),
    ("liaison says why", "hao", "send", "许可证还没拿到"),
    ("unit resolves again", "zhao", "send", "/resolved W0001 许可证已送达项目单位"),
    ("liaison presses 确认销号", "hao", "press", "确认销号"),
    ("liaison confirms again", "hao", "send", "/confirm W0001"),
    # a second problem the unit asks to have moved
    ("issue one-shot", "hao", "send", f"/issue {CODE} 用地 还有12户未签约"),
    ("unit presses 申请改派", "zhao", "press", "申请改派"),
    ("unit says why", "zhao", "send", "征迁归区征收办负责"),
    ("admin presses 驳回", "admin", "press", "驳回"),
    ("admin says why", "admin", "send", "征迁由住建局牵头"),
    # commands typed without what they need, and mistakes
    ("answer without text", "zhao", "send", "/answer W0002"),
    ("answer without a number", "zhao", "send", "/answer"),
    ("comment without text", "liu", "send", "/comment W0002"),
    ("answer in the past", "zhao", "send", "/answer W0002 2026-11-01 已联系"),
    ("answer a bad day", "zhao", "send", "/answer W0002 12月32日 已联系"),
    ("report a bad amount", "hao", "send", f"/report {CODE} 一点二亿 桩基"),
    ("report an unknown project", "hao", "send", "/report ZD2099-999 100 桩基"),
    ("unknown command", "hao", "send", "/frobnicate"),
    ("unit /issue of another unit's number", "zhao", "send", "/issue W0099"),
    ("liaison's admin command", "hao", "send", "/people"),
    # long texts: a problem near the length allowed, and the whole list of people
    ("issue with a long text", "hao", "send", f"/issue {CODE} 其他 " + "施工便道<被占>&无法通行;" * 35),
    ("admin /people all", "admin", "send", "/people"),
    ("unit answers W0003 past the deadline", "zhao", "send", "/answer W0003 2027-03-01 需协调交警部门"),
    ("lead presses 不同意", "liu", "press", "不同意"),
    ("lead says why not", "liu", "send", "交警部门<已同意>配合，请按原时限办结"),
    ("unit asks to move W0003", "zhao", "send", "/reassign W0003 便道归交通局管理"),
    ("admin presses 同意改派", "admin", "press", "同意改派"),
    ("admin picks the unit", "admin", "press", "区城管局"),
    # the guided correction
    ("correct guided", "hao", "send", "/correct"),
    ("correct guided: project", "hao", "press", PROJECT),
    ("correct guided: day", "hao", "press", "11-20 12000 万元 桩基"),
    ("correct guided: amount", "hao", "send", "1.1亿"),
    ("liaison cancels", "hao", "send", "/cancel"),
    # the admin's commands that change things
    ("admin /people unit", "admin", "send", "/people 区住建局"),
    ("admin /approval", "admin", "send", f"/approval {CODE} 施工许可 done 2026-11-18"),
    ("admin /assign", "admin", "send", "/assign W0002 区自然资源局 征迁归口"),
    ("admin /sla set", "admin", "send", "/sla category 审批手续 4"),
    ("admin /calendar set", "admin", "send", "/calendar 2026-12-31 off 调休"),
    ("admin /schedule set", "admin", "send", "/schedule reminders 16:00,18:00"),
    ("admin /web", "admin", "send", "/web"),
    ("admin /handover", "admin", "send", "/handover 郝芳 武杰"),
    ("admin /deactivate", "admin", "send", "/deactivate 赵芳"),
]


async def test_a_problems_life_through_its_buttons_is_the_same_on_both_channels(
        telegram: TelegramHarness, wecom: WeComHarness) -> None:
    run = Run([TelegramSide(telegram), WeComSide(wecom)])
    assert telegram.clock is wecom.clock

    async def bind_all(side):  # type: ignore[no-untyped-def]
        for who in PEOPLE:
            await side.bind(who)

    await run.step("binding everyone", job=bind_all)
    for label, who, action, value in SCRIPT:
        told = await run.step(label, who, action, value)
        if SHOW:
            for person, t in told.items():
                print(f"== {label} → {person}\n" + "\n".join(t.lines) + f"\n  buttons: {t.buttons} files: {t.files}")

    async def tick(side):  # type: ignore[no-untyped-def]
        core = await core_of(side)
        await escalation.run(core.db, telegram.clock, core.deps.renderer)

    telegram.clock.set(at(11, 24, 9))  # W0002 was not accepted by its deadline (Monday 17:30)
    told = await run.step("escalation tick", job=tick)
    assert any("W0002" in line for line in told["liu"].lines), told
    details = next(b for b in told["liu"].buttons if b.endswith("详情"))  # one problem's or each one's
    await run.step("lead presses 详情", "liu", "press", details)
    assert not run.mismatches, "\n\n".join(run.mismatches)
