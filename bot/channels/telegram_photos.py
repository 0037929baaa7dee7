"""Downloading the photos Telegram users sent (getFile, then the file), for the photo keeper
(``bot.services.photo_keeper``), through python-telegram-bot's public API."""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.services.photo_keeper import FetchFailed


class TelegramPhotoSource:
    """Fetches a photo by the file id its message carried (the largest size the message offered)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                raise FetchFailed(f"照片超过 {max_bytes // (1024 * 1024)} MB", permanent=True)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as error:  # a wrong or expired file id, a file too big for bots
            raise FetchFailed(f"Telegram: {error.message}", permanent=True) from error
        except TelegramError as error:  # network trouble, flood control, a server error: try again later
            raise FetchFailed(f"Telegram: {error.message}") from error
        if len(data) > max_bytes:
            raise FetchFailed(f"照片超过 {max_bytes // (1024 * 1024)} MB", permanent=True)
        return data
