"""WeCom group robots (群机器人) for bulletins: the outbox transport of channel ``wecom_robot``.

A robot is addressed by the name it has in ``WECOM_ROBOT_KEYS`` ("领导小组=key1,项目办=key2"): outbox
rows carry that name as their chat id, never the key. A reply goes out as markdown, split at 4096
UTF-8 bytes on line boundaries into several messages; a photo as an image message (base64 and md5
of the file, at most 2 MB, JPG or PNG), anything else (or a larger picture) through
``webhook/upload_media`` as a file message. Robots have no buttons: a reply's buttons are dropped.

WeCom lets a robot send at most 20 messages a minute and drops the rest. The outbox spaces rows by
``limits`` (every robot counts as a group chat), and the transport also counts the messages each
row really became, in a sliding window per robot: a row that needs more room than the window has
waits briefly or is handed back with ``RetryLater``. Given a ``SharedMemory`` (as every command that
sends does), the window is counted in the database over every process (``SharedWindow``), so two
processes, or CLI runs back to back, together stay within the 20 a minute. A send that fails part-way
says how many messages got through, and the outbox's retry sends only the rest (``skip``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.attachment_notes import log_refused, note_html
from bot.channels.base import (
    Attachment,
    AttachmentRefused,
    DeliveryError,
    PermanentError,
    RateLimits,
    RecipientBlocked,
    caused,
    failed_after,
    read_attachment,
)
from bot.channels.wecom.answers import delivery_error, json_round_trip
from bot.channels.wecom.api import DEFAULT_API_BASE, image_type
from bot.channels.wecom.markdown import ROBOT_MARKDOWN_MAX_BYTES, html_to_markdown, split_markdown
from bot.channels.wecom.windows import SlidingWindow
from bot.config import RobotKeysError, parse_robot_keys
from bot.domain.give_up_reasons import CONFIG
from bot.domain.messages import Reply
from bot.services.shared_memory import SharedMemory, SharedWindow

log = logging.getLogger(__name__)
__all__ = ["CHANNEL", "RobotKeysError", "WeComRobotTransport", "parse_robot_keys"]

CHANNEL = "wecom_robot"
ROBOT_PER_MINUTE = 20
ROBOT_WINDOW = 62.0  # a little over a minute: the robot's minute is counted on WeCom's side
ROBOT_IMAGE_MAX = 2 * 1024 * 1024
ROBOT_FILE_MAX = 20 * 1024 * 1024
ROBOT_GONE = frozenset({93000})  # the webhook key is invalid: the robot was removed


class WeComRobotTransport:
    """Sends outbox rows of channel ``wecom_robot`` to group robots by name."""

    channel = CHANNEL
    limits = RateLimits(global_per_second=20, per_chat_per_second=1, per_group_per_minute=ROBOT_PER_MINUTE)

    def __init__(self, robots: Mapping[str, str], *, base_url: str = DEFAULT_API_BASE,
                 session: aiohttp.ClientSession | None = None, files_root: Path | None = None,
                 timeout: float = 10.0, max_wait: float = 20.0, window: SlidingWindow | SharedWindow | None = None,
                 memory: SharedMemory | None = None) -> None:
        self.robots = dict(robots)
        self.base_url = (base_url or DEFAULT_API_BASE).rstrip("/")
        self.files_root = files_root
        self.max_wait = max_wait
        if window is None:
            window = (SharedWindow(memory, "wecom-robot", ROBOT_PER_MINUTE, ROBOT_WINDOW,
                                   fallback=SlidingWindow(ROBOT_PER_MINUTE, ROBOT_WINDOW)) if memory is not None
                      else SlidingWindow(ROBOT_PER_MINUTE, ROBOT_WINDOW))
        self.window = window
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"WeComRobotTransport(robots={sorted(self.robots)!r})"

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> WeComRobotTransport | None:
        """The transport for the robots in WECOM_ROBOT_KEYS, or None when there are none."""
        keys = settings.wecom_robot_keys.get_secret_value() if settings.wecom_robot_keys else ""
        robots = parse_robot_keys(keys)
        if not robots:
            return None
        kwargs.setdefault("files_root", getattr(settings, "data_dir", None))
        return cls(robots, base_url=settings.wecom_api_base, **kwargs)

    def is_group_chat(self, chat_id: str) -> bool:
        return True

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    # -- sending

    async def send(self, chat_id: str, reply: Reply, *, attachment: Attachment | None = None,
                   skip: int = 0) -> None:
        """Send a reply to the robot named ``chat_id``, leaving out the first ``skip`` of the messages it
        becomes (they got through in an earlier try); a failure says how many have (``failed_after``)."""
        key = self.robots.get(chat_id)
        if key is None:
            raise caused(PermanentError(f"no group robot named {chat_id!r} in WECOM_ROBOT_KEYS"), CONFIG)
        if reply.buttons:
            log.debug("group robot %s: buttons dropped", chat_id)
        if attachment is None:
            attachment = reply.attachment
        parts: list[dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": chunk}}
            for chunk in split_markdown(html_to_markdown(reply.html), ROBOT_MARKDOWN_MAX_BYTES)
        ]
        file_part = None
        if attachment is not None:
            try:
                data = read_attachment(attachment, self.files_root)
                mime = image_type(data) if attachment.kind == "photo" else None
                as_image = mime is not None and len(data) <= ROBOT_IMAGE_MAX
                if not as_image and len(data) > ROBOT_FILE_MAX:
                    raise AttachmentRefused("too_large", f"attachment over {ROBOT_FILE_MAX} bytes: {attachment.path}",
                                            limit=ROBOT_FILE_MAX)
            except AttachmentRefused as refused:  # the text goes out, and a line saying the file did not
                parts.append(self._note(chat_id, attachment, refused))
            else:
                if as_image:
                    parts.append({"msgtype": "image", "image": {
                        "base64": base64.b64encode(data).decode("ascii"), "md5": hashlib.md5(data).hexdigest()}})
                else:
                    file_part = len(parts)
                    name = attachment.filename or Path(attachment.path).name
                    parts.append({"msgtype": "file", "file": {"_data": data, "_name": name}})
        done = max(0, skip)
        if done >= len(parts):
            return
        try:
            await self.window.acquire(chat_id, len(parts) - done, max_wait=self.max_wait)
            while done < len(parts):
                part = parts[done]
                if done == file_part:
                    part = await self._file_or_note(key, chat_id, attachment, part["file"])
                await self._post(key, "webhook/send", json_body=part)
                done += 1
        except DeliveryError as error:
            failed_after(error, done)
            raise

    def _note(self, chat_id: str, attachment: Attachment, refused: AttachmentRefused) -> dict[str, Any]:
        """The message in place of a file that cannot be sent: a line saying which and why."""
        log_refused(self.channel, chat_id, attachment, refused)
        return {"msgtype": "markdown", "markdown": {"content": html_to_markdown(note_html(attachment, refused))}}

    async def _file_or_note(self, key: str, chat_id: str, attachment: Attachment | None,
                            file: dict[str, Any]) -> dict[str, Any]:
        try:
            media_id = await self._upload(key, file["_data"], file["_name"])
        except PermanentError as exc:  # WeCom would not take this file
            assert attachment is not None
            return self._note(chat_id, attachment, AttachmentRefused("refused", f"WeCom refused the file: {exc}"))
        return {"msgtype": "file", "file": {"media_id": media_id}}

    async def _upload(self, key: str, data: bytes, filename: str) -> str:
        form = aiohttp.FormData(quote_fields=False)  # raw UTF-8 file names, as WeCom expects
        form.add_field("media", data, filename=filename, content_type="application/octet-stream")
        answer = await self._post(key, "webhook/upload_media", params={"type": "file"}, data=form)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise PermanentError("webhook/upload_media: no media_id in the answer")
        return media_id

    async def _post(self, key: str, path: str, *, params: dict[str, str] | None = None,
                    json_body: Any = None, data: Any = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": {**(params or {}), "key": key}}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        else:
            kwargs["data"] = data
        url = f"{self.base_url}/cgi-bin/{path}"
        answer = await json_round_trip(lambda: self.session.post(url, **kwargs), path)
        errcode = int(answer.get("errcode") or 0)
        if errcode:
            if errcode in ROBOT_GONE:
                raise RecipientBlocked(f"{path}: WeCom errcode {errcode}: the robot's key is not valid")
            error: DeliveryError = delivery_error(errcode, str(answer.get("errmsg", "")), what=path)
            raise error
        return answer
