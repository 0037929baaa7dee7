"""Repository functions for guided-flow state, kept in the database so restarts and workers share it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


async def get_conversation(session: AsyncSession, *, channel: str, chat_id: str, user_id: str) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.chat_id == chat_id, Conversation.user_id == user_id
        )
    )


async def save_conversation(
    session: AsyncSession, *, channel: str, chat_id: str, user_id: str, flow: str, state: dict[str, Any], now: datetime
) -> None:
    conversation = await get_conversation(session, channel=channel, chat_id=chat_id, user_id=user_id)
    if conversation is None:
        conversation = Conversation(channel=channel, chat_id=chat_id, user_id=user_id, flow=flow)
        session.add(conversation)
    conversation.flow = flow
    conversation.state = dict(state)
    conversation.updated_at = now


async def clear_conversation(session: AsyncSession, *, channel: str, chat_id: str, user_id: str) -> bool:
    result = await session.execute(
        delete(Conversation).where(
            Conversation.channel == channel, Conversation.chat_id == chat_id, Conversation.user_id == user_id
        )
    )
    return bool(result.rowcount)
