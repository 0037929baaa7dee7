"""The digest tests' district builder inside a unit of work the test holds open: it makes its rows there when
given the session, and fails loudly rather than waiting forever for a second one."""

from __future__ import annotations

import asyncio

import pytest

from storage.db import Database
from storage.models import Person, Unit

from .conftest import District


async def test_a_unit_and_a_person_are_made_in_the_session_the_test_holds_open(db: Database,
                                                                                district: District) -> None:
    async with db.session() as session:
        unit_id = await asyncio.wait_for(district.unit("区城管局", session=session), 10)
        person_id = await asyncio.wait_for(district.person("甲", session=session), 10)
        assert await district.unit("区城管局") == unit_id  # remembered: no session needed to name it again
        made = await session.get(Unit, unit_id)
        assert made is not None and made.name == "区城管局"
    async with db.session() as session:  # committed with the test's unit of work
        person = await session.get(Person, person_id)
        assert person is not None and person.name == "甲"


async def test_the_builder_fails_loudly_instead_of_waiting_for_the_session_the_test_holds(
        db: Database, district: District) -> None:
    if not db.in_memory:
        pytest.skip("a second session waits for the first only on in-memory SQLite (one shared connection)")
    district.wait = 0.5
    async with db.session():
        with pytest.raises(AssertionError, match=r"session=\.\.\."):
            await asyncio.wait_for(district.unit("区城管局"), 10)
