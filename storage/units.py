"""Repository functions for units (单位): the ones a problem can be given to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Unit


async def get_unit(session: AsyncSession, *, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def units_by_name(session: AsyncSession) -> list[Unit]:
    """Every unit, by name."""
    return list((await session.scalars(select(Unit).order_by(Unit.name, Unit.id))).all())
