"""/sla, /calendar and /schedule through the router with console accounts; reminder jobs follow /schedule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.channels.console import CHANNEL, bind_console
from bot.clock import SHANGHAI, FrozenClock
from bot.config import load_settings
from bot.domain.digest_settings import DigestSettings
from bot.domain.duties import is_reporting_day
from bot.domain.messages import Incoming
from bot.render import html_to_plain
from handlers import admin_settings
from jobs.scheduler import add_settings_watcher, apply_schedule, build_scheduler, reminder_job_times
from storage import people
from storage.models import AuditEntry
from storage.settings import load_calendar, load_digest_settings, load_policy
from tests.e2e.harness import START, build_core

ADMIN = "管理员(区重大项目办)"


@pytest.fixture
async def core(ledger_template: Path, tmp_path: Path) -> AsyncIterator[Core]:
    """The sample ledger on a fresh in-memory database, with the admin settings commands registered."""
    settings = load_settings(DATABASE_URL="sqlite+aiosqlite://", DATA_DIR=str(tmp_path), _env_file=None)
    built = await build_core(settings, FrozenClock(START), template=ledger_template)
    if built.router.commands.get("sla") is None:  # not yet wired into the router's own registry
        admin_settings.register(built.router.commands)
    try:
        yield built
    finally:
        await built.db.dispose()


async def say(core: Core, name: str, text: str) -> str:
    """`name` types `text` in their console chat; the replies as plain text."""
    async with core.db.session() as session:
        [person] = await people.find_people_by_name(session, name=name)
    external_id = await bind_console(core.db, person, now=core.clock.now())
    outcome = await core.router.handle(Incoming(channel=CHANNEL, user_id=external_id, chat_id=external_id,
                                                text=text, display_name=name))
    return "\n\n".join(html_to_plain(r.html) for r in outcome.replies)


async def audit_actions(core: Core, action: str) -> list[AuditEntry]:
    async with core.db.session() as session:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                           .order_by(AuditEntry.id))).all())


async def test_non_admins_are_refused_and_nothing_changes(core: Core) -> None:
    for command in ("/sla category 审批手续 9", "/calendar 2027-03-10 off 区运会", "/schedule alert 5"):
        reply = await say(core, "郝芳", command)
        assert "没有权限" in reply, reply
    reply = await say(core, "王立军", "/schedule")
    assert "没有权限" in reply
    async with core.db.session() as session:
        assert (await load_policy(session)).resolution_limit("审批手续", 0) == 3
        assert (await load_digest_settings(session)).missed_days_alert == 2
        assert (await load_calendar(session)).is_working_day(date(2027, 3, 10))


async def test_sla_shows_and_changes_deadlines_audited(core: Core) -> None:
    shown = await say(core, ADMIN, "/sla")
    assert "审批手续 3 天" in shown and "每日截止：17:30" in shown

    changed = await say(core, ADMIN, "/sla category 审批手续 5")
    assert "已修改" in changed and "审批手续 5 天" in changed
    assert "各层级办结时限（上报后重新计算）：包抓领导 5 天；区长 2 天" in await say(core, ADMIN, "/sla resolution 2 2")
    assert "每日截止：18:00" in await say(core, ADMIN, "/sla end-of-day 18:00")
    async with core.db.session() as session:
        policy = await load_policy(session)
    assert policy.resolution_limit("审批手续", 0) == 5 and policy.resolution_limit("审批手续", 2) == 2
    assert policy.end_of_day == time(18, 0)
    entries = await audit_actions(core, "sla.set")
    assert [(e.actor, e.channel) for e in entries] == [(ADMIN, CHANNEL)] * 3
    assert entries[0].detail["after"]["resolution_by_category"]["审批手续"] == 5


async def test_sla_refusals_are_explained(core: Core) -> None:
    level_zero = await say(core, ADMIN, "/sla resolution 0 5")
    assert "/sla category 类别 天数" in level_zero and "sla set" not in level_zero
    assert "没有「frobnicate」这一项" in await say(core, ADMIN, "/sla frobnicate 3")
    assert "只有责任单位（第 0 层）有受理时限" in await say(core, ADMIN, "/sla response 1 2")  # no 批示 deadline
    assert "不是时间" in await say(core, ADMIN, "/sla nudge-at 25:00")
    assert "没有「拆迁」这个类别" in await say(core, ADMIN, "/sla category 拆迁 3")
    assert "1 到 250" in await say(core, ADMIN, "/sla category 审批手续 0")
    assert await say(core, ADMIN, "/sla node 3 多余") == ("没有看懂「多余」，未做修改。用法：/sla node 天数"
                                                       "（节点计划完成日期后几个工作日仍未完成，上报包抓领导）")
    assert "没有看懂「1」" in await say(core, ADMIN, "/sla response 0 1 1")
    assert await audit_actions(core, "sla.set") == [] and await audit_actions(core, "node.settings") == []


async def test_calendar_enters_official_days(core: Core) -> None:
    off = await say(core, ADMIN, "/calendar 2027-03-10 off 区运会")
    assert "已录入" in off and "2027-03-10 放假（区运会）" in off
    work = await say(core, ADMIN, "/calendar 2027-03-13 上班 调休")
    assert "2027-03-13 调休上班（调休）" in work
    async with core.db.session() as session:
        calendar = await load_calendar(session)
    assert not calendar.is_working_day(date(2027, 3, 10)) and calendar.is_working_day(date(2027, 3, 13))

    restored = await say(core, ADMIN, "/calendar 2027-03-10 auto")
    assert "2027-03-10" not in restored and "2027-03-13 调休上班" in restored
    async with core.db.session() as session:
        assert (await load_calendar(session)).is_working_day(date(2027, 3, 10))
    assert (await say(core, ADMIN, "/calendar 2027-03-11 auto")).startswith("2027-03-11 没有设置过，无需恢复")
    assert "没有看懂「明天」" in await say(core, ADMIN, "/calendar 明天 off")
    assert "没有看懂「2027-02-30」" in await say(core, ADMIN, "/calendar 2027-02-30 off")
    assert "没有看懂" in await say(core, ADMIN, "/calendar 2027-03-12 holiday")
    entries = await audit_actions(core, "calendar.set")
    assert [(e.object_key, e.detail["kind"]) for e in entries] == [
        ("2027-03-10", "off"), ("2027-03-13", "work"), ("2027-03-10", "auto")]


async def test_a_day_made_working_keeps_the_time_it_was_made_so(core: Core) -> None:
    """Whether a past 调休 day owed reports depends on what the calendar said of it when it passed (bot.domain.duties
    .is_reporting_day): renaming it later changes nothing; made a holiday after it passed it owes nothing (a mistake
    corrected), and made working again it owes what it owed that day: people were asked to report."""
    saturday = date(2027, 3, 13)
    await say(core, ADMIN, "/calendar 2027-03-13 work 调休")  # in time, on 2026-11-20
    core.clock.set(datetime(2027, 3, 15, 10, 0, tzinfo=SHANGHAI))
    assert "（调休补班）" in await say(core, ADMIN, "/calendar 2027-03-13 work 调休补班")
    async with core.db.session() as session:
        assert is_reporting_day(saturday, await load_calendar(session))

    await say(core, ADMIN, "/calendar 2027-03-13 off")
    async with core.db.session() as session:
        assert not is_reporting_day(saturday, await load_calendar(session))
    await say(core, ADMIN, "/calendar 2027-03-13 work 调休")
    async with core.db.session() as session:
        calendar = await load_calendar(session)
    assert calendar.is_working_day(saturday) and is_reporting_day(saturday, calendar)


async def test_schedule_shows_and_changes_every_setting(core: Core) -> None:
    shown = await say(core, ADMIN, "/schedule")
    assert "填报提醒：开启，每个工作日 16:00、18:00" in shown
    assert "投资完成 50%、填报及时 20%、问题按期办结 15%、节点按期 15%" in shown

    for command in ("/schedule reminders 17:00,09:30", "/schedule reminders off", "/schedule weekly 09:30",
                    "/schedule weekly off", "/schedule monthly off", "/schedule monthly on",
                    "/schedule alert 3", "/schedule praise 5", "/schedule weights 0.5 0.3 0.2",
                    "/schedule thresholds 12 35", "/schedule top 8", "/schedule red 0"):
        assert "已修改" in await say(core, ADMIN, command), command
    async with core.db.session() as session:
        s = await load_digest_settings(session)
    assert s.reminder_times == (time(9, 30), time(17, 0)) and not s.reminders_enabled
    assert (s.weekly_time, s.weekly_enabled, s.monthly_enabled) == (time(9, 30), False, True)
    assert (s.missed_days_alert, s.praise_n) == (3, 5)
    assert (s.bulletin_top_n, s.bulletin_red_max) == (8, 0)
    assert (s.weights.investment, s.weights.punctuality, s.weights.nodes) == (0.5, 0.3, 0.0)
    assert abs(s.weights.problems - 0.2) < 1e-9
    assert (s.thresholds.yellow_from_points, s.thresholds.red_from_points) == (12, 35)
    shown = await say(core, ADMIN, "/schedule")
    assert "填报提醒：关闭，每个工作日 09:30、17:00" in shown and "12 个百分点起黄灯，35 个百分点起红灯" in shown
    entries = await audit_actions(core, "digests.set")
    assert "排名列前、后各 8 个，预警项目最多列 0 个" in shown
    assert len(entries) == 12 and entries[0].detail["after"]["reminder_times"] == ["09:30", "17:00"]
    assert entries[0].detail["before"]["reminder_times"] == ["16:00", "18:00"]


async def test_schedule_refusals_are_explained_and_store_nothing(core: Core) -> None:
    cases = {
        "/schedule weights 0.5 0.3 0.3": "之和须为 1",
        "/schedule weights 0.5 abc 0.5": "不是数字",
        "/schedule thresholds 30 10": "黄灯点数须不大于红灯点数",
        "/schedule reminders 16:00,25:00": "「25:00」不是时间",
        "/schedule weekly noon": "「noon」不是时间",
        "/schedule alert 0": "应为 1 到 20 之间的整数",
        "/schedule praise many": "应为 1 到 50 之间的整数",
        "/schedule top 11": "群通报列出的排名前、后项目个数应为 1 到 10 之间的整数",
        "/schedule red -1": "应为 0 到 20 之间的整数",
        "/schedule bedtime 22:00": "用法：/schedule",
    }
    for command, fragment in cases.items():
        assert fragment in await say(core, ADMIN, command), command
    assert await audit_actions(core, "digests.set") == []
    async with core.db.session() as session:
        assert await load_digest_settings(session) == DigestSettings()


async def test_weights_as_percentages(core: Core) -> None:
    assert "投资完成 50%、填报及时 30%、问题按期办结 20%、节点按期 0%" in await say(
        core, ADMIN, "/schedule weights 50 30 20")


async def test_four_weights_set_the_node_weight(core: Core) -> None:
    shown = await say(core, ADMIN, "/schedule weights 0.4 0.2 0.2 0.2")
    assert "投资完成 40%、填报及时 20%、问题按期办结 20%、节点按期 20%" in shown
    async with core.db.session() as session:
        weights = (await load_digest_settings(session)).weights
    assert (weights.investment, weights.punctuality, weights.nodes) == (0.4, 0.2, 0.2)
    assert abs(weights.problems - 0.2) < 1e-9
    assert "之和须为 1" in await say(core, ADMIN, "/schedule weights 0.4 0.2 0.2 0.3")


def test_weights_stored_before_nodes_were_scored_give_nodes_none() -> None:
    """Settings saved with three weights keep them as they were: node punctuality weighs 0 until an admin
    sets four weights (the scores do not change under the admins' feet)."""
    stored = DigestSettings().to_json() | {"weights": {"investment": 0.6, "punctuality": 0.2, "problems": 0.2}}
    weights = DigestSettings.from_json(stored).weights
    assert (weights.investment, weights.punctuality, weights.problems, weights.nodes) == (0.6, 0.2, 0.2, 0.0)
    assert DigestSettings.from_json(DigestSettings().to_json()).weights.nodes == 0.15


async def test_apply_schedule_moves_only_the_reminder_jobs_that_changed() -> None:
    async def job(*_args: object) -> None:
        return None

    scheduler = build_scheduler(escalation=job, digests=job, reminder=job,
                                reminder_times=(time(16, 0), time(18, 0)))
    untouched = scheduler.get_job("reminder-1600")
    assert apply_schedule(scheduler, DigestSettings(reminder_times=(time(9, 0), time(16, 0))), job)
    assert reminder_job_times(scheduler) == ["reminder-0900", "reminder-1600"]
    assert scheduler.get_job("reminder-1600") is untouched
    assert {j.id for j in scheduler.get_jobs()} == {"escalation", "digests", "reminder-0900", "reminder-1600"}
    assert scheduler.get_job("reminder-0900").args == (time(9, 0),)
    # the log names each job by its words in cli/job_names.j2
    assert {j.id: j.name for j in scheduler.get_jobs()} == {
        "escalation": "问题逐级上报", "digests": "定期通报", "reminder-0900": "填报提醒 09:00",
        "reminder-1600": "填报提醒 16:00"}
    assert not apply_schedule(scheduler, DigestSettings(reminder_times=(time(9, 0), time(16, 0))), job)


async def test_the_running_scheduler_follows_reminder_times_changed_in_chat(core: Core) -> None:
    ran: list[time] = []

    async def job() -> None:
        return None

    async def reminder(slot: time) -> None:
        ran.append(slot)

    async def load() -> DigestSettings:
        async with core.db.session() as session:
            return await load_digest_settings(session)

    scheduler = build_scheduler(escalation=job, digests=job, reminder=reminder,
                                reminder_times=(await load()).reminder_times)
    watch = add_settings_watcher(scheduler, load=load, reminder=reminder)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("settings-watch") is not None
        assert not await watch()  # nothing changed yet
        await say(core, ADMIN, "/schedule reminders 15:00,18:00")
        assert await watch()
        assert reminder_job_times(scheduler) == ["reminder-1500", "reminder-1800"]
        trigger = scheduler.get_job("reminder-1500").trigger
        assert str(trigger.fields[5]) == "15" and str(trigger.fields[6]) == "0"  # hour, minute
        await scheduler.get_job("reminder-1500").func(*scheduler.get_job("reminder-1500").args)
        assert ran == [time(15, 0)]
    finally:
        scheduler.shutdown(wait=False)
