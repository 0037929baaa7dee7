"""Downloading the images WeCom members sent (``media/get``; WeCom keeps them three days), for the photo
keeper (``bot.services.photo_keeper``)."""

from __future__ import annotations

from bot.channels.base import DeliveryError, PermanentError
from bot.channels.wecom.answers import errcode_of
from bot.channels.wecom.api import MediumTooLarge, WeComApi
from bot.services import photo_reasons
from bot.services.photo_keeper import FetchFailed

INVALID_MEDIA = 40007


class WeComPhotoSource:
    """Fetches an image by the MediaId its message carried."""

    def __init__(self, api: WeComApi) -> None:
        self.api = api

    def ready(self) -> bool:
        return True  # the API client takes its token on the first call

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            return await self.api.get_media(file_id, max_bytes=max_bytes)
        except DeliveryError as error:
            # 40007: the medium is gone (older than three days) or never was; an HTTP refusal or a file too
            # big is as final. Anything else (busy, rate limits, the network, even refused app credentials,
            # which the admin can fix) is tried again later.
            reason = _reason(error)
            raise FetchFailed(reason, f"WeCom: {error}", permanent=reason != photo_reasons.UNREACHABLE) from error


def _reason(error: DeliveryError) -> str:
    """The code of why the download failed (``bot.services.photo_reasons``)."""
    code = errcode_of(error)
    if code == INVALID_MEDIA:
        return photo_reasons.GONE_WECOM
    if isinstance(error, MediumTooLarge):
        return photo_reasons.TOO_BIG
    if code is None and isinstance(error, PermanentError):
        return photo_reasons.REFUSED
    return photo_reasons.UNREACHABLE
