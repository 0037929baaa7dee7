"""The wall clock stepping under the scheduler (``jobs.clock_watch``), on the real APScheduler that
``jobs.scheduler.build_scheduler`` builds. A step of the machine's clock cannot be made in a test (it would
move every other process's), so each test leaves the jobs as a step leaves them: after a step forward their
next runs lie in the past; after a step backward they lie later than meant by the step, which the clock watch
sees as the wall clock moving against the monotonic clock (a wall clock given to it).

What users expect: the 18:00 reminders run once, however the clock jumps (not skipped when it jumps over 18:00,
not twice when it shows 18:00 again), and the escalation tick neither runs a burst of missed ticks nor stands
still for an hour; nor does a notice waiting to be tried again wait an hour more after the clock went back an
hour."""

from __future__ import annotations

import asyncio
import time as clock
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from functools import partial

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from bot.clock import SHANGHAI, FrozenClock
from bot.domain.messages import Reply
from jobs.clock_watch import ClockWatch, outbox_due_times_back
from jobs.scheduler import DIGEST_JOB, ESCALATION_JOB, REMINDER_JOB, build_scheduler
from storage import outbox, outbox_sending
from storage.db import Database
from storage.models import OutboxMessage
from tests.databases import BACKENDS, fresh_database
from tests.polling import until

EVENING = REMINDER_JOB.format(time(18, 0))


def scheduler_counting(ran: Counter[str]) -> AsyncIOScheduler:
    async def escalation() -> None:
        ran["escalation"] += 1

    async def digests() -> None:
        ran["digests"] += 1

    async def reminder(at: time) -> None:
        ran[f"reminder {at:%H:%M}"] += 1

    return build_scheduler(escalation=escalation, digests=digests, reminder=reminder,
                           reminder_times=(time(16, 0), time(18, 0)))


def next_run(scheduler: AsyncIOScheduler, job_id: str) -> datetime:
    job = scheduler.get_job(job_id)
    assert job is not None and job.next_run_time is not None
    return job.next_run_time


async def test_jobs_a_step_forward_jumped_over_run_at_once_and_once() -> None:
    ran: Counter[str] = Counter()
    scheduler = scheduler_counting(ran)
    scheduler.start()
    try:
        now = datetime.now(SHANGHAI)
        # The clock jumped ahead over 18:00 (the latest 18:00 past) and over an hour of ticks.
        jumped = now.replace(hour=18, minute=0, second=0, microsecond=0)
        jumped -= timedelta(days=1) if jumped > now else timedelta(0)
        scheduler.modify_job(EVENING, next_run_time=jumped)
        scheduler.modify_job(ESCALATION_JOB, next_run_time=now - timedelta(hours=1))
        await until(lambda: ran["reminder 18:00"] and ran["escalation"], "the jobs jumped over to run", 10)
        await asyncio.sleep(0.3)
        assert ran == Counter({"reminder 18:00": 1, "escalation": 1})  # late, once each: no burst
        assert next_run(scheduler, EVENING) == jumped + timedelta(days=1) > now  # the next 18:00, not this one again
        assert now < next_run(scheduler, ESCALATION_JOB) <= now + timedelta(minutes=5, seconds=1)
    finally:
        scheduler.shutdown(wait=False)


async def test_a_step_backward_puts_the_ticks_back_on_time_and_leaves_the_reminders_run() -> None:
    ran: Counter[str] = Counter()
    scheduler = scheduler_counting(ran)
    step = [0.0]
    watch = ClockWatch(scheduler, wall=lambda: clock.time() + step[0])
    scheduler.start(paused=True)
    try:
        now = datetime.now(SHANGHAI)
        # The 18:00 reminders ran (their next run is tomorrow's); then the clock went back an hour: every next
        # run is an hour later than meant.
        for job_id, minutes in ((EVENING, 24 * 60), (ESCALATION_JOB, 63), (DIGEST_JOB, 68)):
            scheduler.modify_job(job_id, next_run_time=now + timedelta(minutes=minutes))
        assert abs(watch.look()) < 1  # no step: nothing moves
        assert next_run(scheduler, ESCALATION_JOB) > now + timedelta(hours=1)

        step[0] = -3600.0
        assert watch.look() < -3599
        assert next_run(scheduler, ESCALATION_JOB) <= datetime.now(SHANGHAI) + timedelta(minutes=5)
        assert next_run(scheduler, DIGEST_JOB) <= datetime.now(SHANGHAI) + timedelta(minutes=10)
        assert next_run(scheduler, EVENING) == now + timedelta(days=1)  # not again at the second 18:00
        moved = next_run(scheduler, ESCALATION_JOB)
        assert abs(watch.look()) < 1 and next_run(scheduler, ESCALATION_JOB) == moved  # told once

        step[0] = 0.0  # and forward again: the jobs due run by themselves, nothing is moved
        assert watch.look() > 3599
        assert next_run(scheduler, ESCALATION_JOB) == moved
        assert ran == Counter()
    finally:
        scheduler.shutdown(wait=False)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with fresh_database(request.param) as database:
        yield database


async def test_a_step_backward_brings_the_outbox_retries_stored_before_it_back_on_time(db: Database) -> None:
    before = datetime(2026, 12, 7, 18, 0, tzinfo=SHANGHAI)
    clock_ = FrozenClock(before)
    due = {"retry": before + timedelta(seconds=8), "flood": before + timedelta(minutes=10), "now": before}
    async with db.session() as session:
        for key, at in due.items():  # stored as the sender stores a retry: due then
            await outbox.enqueue_for_chat(session, channel="telegram", chat_id="1001", reply=Reply(html=key),
                                          key=key, now=before - timedelta(minutes=1), due=at)
        await outbox.enqueue_for_chat(session, channel="wecom", chat_id="HaoFang", reply=Reply(html="sending"),
                                      key="sending", now=before)
        [sending] = await outbox_sending.claim_due_messages(session, now=before, limit=10,
                                                           lease_until=before + timedelta(minutes=10),
                                                           channels=["wecom"])
    assert sending.chat_id == "HaoFang"
    monotonic = clock.monotonic()
    watch = ClockWatch(scheduler_counting(Counter()), wall=lambda: clock_.now().timestamp(),
                       monotonic=lambda: monotonic, stepped_back=partial(outbox_due_times_back, db, clock_))
    assert abs(await watch.check()) < 1  # no step: nothing moves

    clock_.advance(hours=-1)  # NTP steps the clock back an hour
    async with db.session() as session:  # a retry stored after the step, before the watch looked
        await outbox.enqueue_for_chat(session, channel="telegram", chat_id="1003", reply=Reply(html="after"),
                                      key="after", now=clock_.now(), due=clock_.now() + timedelta(seconds=4))
    assert await watch.check() < -3599
    async with db.session() as session:
        found = {row.payload["html"]: row for row in (await session.scalars(select(OutboxMessage))).all()}
    now = clock_.now()
    assert found["retry"].next_attempt_at == now + timedelta(seconds=8)  # as meant, not an hour later
    assert found["flood"].next_attempt_at == now + timedelta(minutes=10)
    assert found["now"].next_attempt_at == now  # due at once, as before the step
    assert found["after"].next_attempt_at == now  # at most its own 4 s early
    assert found["sending"].next_attempt_at == before + timedelta(minutes=10)  # a lease kept
    assert abs(await watch.check()) < 1 and found["retry"].state == "pending"  # told once


async def test_a_retry_time_written_while_the_due_times_move_back_is_kept() -> None:
    """A sender writes a row's retry time while the clock watch, having read the rows, moves their due times back
    (PostgreSQL: the watch's update waits for the sender's to commit): the sender's time stands."""
    async with fresh_database("postgresql") as db:
        now = datetime(2026, 12, 7, 17, 0, tzinfo=SHANGHAI)
        async with db.session() as session:
            [row] = await outbox.enqueue_for_chat(session, channel="telegram", chat_id="1001",
                                                  reply=Reply(html="retry"), key="retry", now=now,
                                                  due=now + timedelta(hours=1, minutes=10))
        retry_at = now + timedelta(seconds=30)
        async with db.session() as sender:
            await sender.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                 .values(next_attempt_at=retry_at))
            async with db.session() as watch:
                moving = asyncio.create_task(outbox_sending.due_times_back(watch, by=timedelta(hours=1), now=now))
                await asyncio.sleep(0.5)  # the watch has read the rows; its update waits for the sender's row
                assert not moving.done()
                await sender.commit()
                assert await moving == 0
        async with db.session() as session:
            assert (await session.get(OutboxMessage, row.id)).next_attempt_at == retry_at  # type: ignore[union-attr]
