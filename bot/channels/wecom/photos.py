"""Downloading the images WeCom members sent (``media/get``; WeCom keeps them three days), for the photo
keeper (``bot.services.photo_keeper``)."""

from __future__ import annotations

from bot.channels.base import DeliveryError, PermanentError
from bot.channels.wecom.answers import errcode_of
from bot.channels.wecom.api import WeComApi
from bot.services.photo_keeper import FetchFailed

INVALID_MEDIA = 40007


class WeComPhotoSource:
    """Fetches an image by the MediaId its message carried."""

    def __init__(self, api: WeComApi) -> None:
        self.api = api

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            return await self.api.get_media(file_id, max_bytes=max_bytes)
        except DeliveryError as error:
            # 40007: the medium is gone (older than three days) or never was; an HTTP refusal or a file too
            # big is as final. Anything else (busy, rate limits, the network, even refused app credentials,
            # which the admin can fix) is tried again later.
            code = errcode_of(error)
            final = code == INVALID_MEDIA or (code is None and isinstance(error, PermanentError))
            raise FetchFailed(f"企业微信:{error}", permanent=final) from error
