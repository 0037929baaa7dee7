"""Send slots handed out oldest first (the outbox sender's ``concurrency``)."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.slots import OldestFirstSlots


async def hold(slots: OldestFirstSlots, key: int, order: list[int], release: asyncio.Event) -> None:
    async with slots.slot(key):
        order.append(key)
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_free_slots_are_taken_at_once_up_to_the_size() -> None:
    slots, order, release = OldestFirstSlots(2), [], asyncio.Event()
    tasks = [asyncio.create_task(hold(slots, key, order, release)) for key in (5, 6, 7)]
    await settle()
    assert order == [5, 6] and slots.waiting == 1
    release.set()
    await asyncio.gather(*tasks)
    assert order == [5, 6, 7] and slots.waiting == 0


async def test_waiters_get_a_freed_slot_smallest_key_first_then_by_arrival() -> None:
    slots, order = OldestFirstSlots(1), []
    first = asyncio.Event()
    holder = asyncio.create_task(hold(slots, 0, order, first))
    await settle()
    go = asyncio.Event()
    go.set()  # each waiter leaves its slot at once, so the order is the order slots were handed out
    waiters = [asyncio.create_task(hold(slots, key, order, go)) for key in (9, 3, 7, 3, 1)]
    await settle()
    assert order == [0] and slots.waiting == 5
    first.set()
    await asyncio.gather(holder, *waiters)
    assert order == [0, 1, 3, 3, 7, 9]


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    slots, order, release = OldestFirstSlots(1), [], asyncio.Event()
    holder = asyncio.create_task(hold(slots, 5, order, release))
    await settle()
    gone = asyncio.create_task(hold(slots, 1, order, release))
    later = asyncio.create_task(hold(slots, 2, order, release))
    await settle()
    gone.cancel()
    await settle()
    assert slots.waiting == 1
    release.set()
    await asyncio.gather(holder, later)
    assert gone.cancelled() and order == [5, 2]


async def test_a_waiter_cancelled_as_it_is_handed_a_slot_passes_it_on() -> None:
    slots, order, release = OldestFirstSlots(1), [], asyncio.Event()
    async with slots.slot(0):
        unlucky = asyncio.create_task(hold(slots, 1, order, release))
        next_one = asyncio.create_task(hold(slots, 2, order, release))
        await settle()
    unlucky.cancel()  # the slot was just handed to it, and it has not run yet
    release.set()
    await asyncio.wait_for(next_one, 1)  # a slot lost with the cancelled waiter would leave it hanging
    assert unlucky.cancelled() and order == [2]
    await asyncio.wait_for(hold(slots, 3, order, release), 1)  # and the slot is free again afterwards
    assert order == [2, 3] and slots.waiting == 0


def test_there_is_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        OldestFirstSlots(0)
