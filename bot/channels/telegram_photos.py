"""Downloading the photos Telegram users sent (getFile, then the file), for the photo keeper
(``bot.services.photo_keeper``), through python-telegram-bot's public API.

The keeper asks for downloads only once the bot is started (:meth:`TelegramPhotoSource.ready`): until the
Bot API has answered at start-up the photos stay due, no try counted, and are fetched once it answers."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.services import photo_reasons
from bot.services.photo_keeper import FetchFailed

TOO_BIG_WORDS = "file is too big"  # Telegram's answer to getFile for a file over what bots may download


class TelegramPhotoSource:
    """Fetches a photo by the file id its message carried (the largest size the message offered), with a bot
    that is started (`started`: whether it is; without it, the bot is taken as started)."""

    def __init__(self, bot: Bot, *, started: Callable[[], bool] | None = None) -> None:
        self.bot = bot
        self.started = started

    def ready(self) -> bool:
        return self.started is None or self.started()

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                raise FetchFailed(photo_reasons.TOO_BIG, f"Telegram: {file.file_size} bytes", permanent=True)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as error:  # a wrong or expired file id, a file too big for bots
            reason = photo_reasons.TOO_BIG if TOO_BIG_WORDS in error.message.lower() else photo_reasons.GONE_TELEGRAM
            raise FetchFailed(reason, f"Telegram: {error.message}", permanent=True) from error
        except TelegramError as error:  # network trouble, flood control, a server error: try again later
            raise FetchFailed(photo_reasons.UNREACHABLE, f"Telegram: {error.message}") from error
        if len(data) > max_bytes:
            raise FetchFailed(photo_reasons.TOO_BIG, f"Telegram: {len(data)} bytes", permanent=True)
        return data
