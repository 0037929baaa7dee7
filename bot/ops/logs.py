"""Structured logs: one JSON object per line, with secrets redacted before anything is written.

``JsonFormatter`` writes ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``msg``, every ``extra=`` field
of the record, and ``exc`` / ``stack`` when there is a traceback. ``Redactor`` removes secrets from text:

- a Telegram bot token anywhere (``123456789:AA…``, also inside ``/bot<token>/sendMessage`` URLs);
- the values of ``access_token``, ``corpsecret``, ``secret``, ``key`` … query parameters of URLs (WeCom);
- ``password=`` / ``"secret": "…"`` style pairs, and the password of any ``scheme://user:password@host`` URL
  (database and proxy URLs);
- the exact value of every configured secret (each ``SecretStr`` setting, and the passwords in
  ``DATABASE_URL`` / ``TELEGRAM_PROXY``), including the pieces of ``WECOM_ROBOT_KEYS``.

``RedactingFilter`` applies it to a record's message, its extra fields and its traceback; it is installed
on the handler, so records of every logger pass through it. The formatters redact their output too, so
a record that reached the handler some other way is still clean.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import SecretStr

MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter configured values would mask ordinary words

_TELEGRAM_TOKEN = re.compile(r"(?<!\d)\d{3,}:[A-Za-z0-9_-]{20,}")
_QUERY_SECRET = re.compile(
    r"([?&;](?:access_token|corpsecret|secret|key|token|password|passwd|sign|signature|encodingaeskey)=)"
    r"[^&#\s'\"<>]+",
    re.IGNORECASE,
)
_PAIR_SECRET = re.compile(
    r"""((?<![A-Za-z0-9_])(?:password|passwd|pwd|secret|corpsecret|access_token|api_key|secret_token|"""
    r"""aes_key|"""
    r"""encoding_aes_key)["']?\s*[:=]\s*["']?)[^\s&"',;}]+""",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s'\"]*:)[^@/?#\s'\"]+(@)")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class Redactor:
    """Removes known secret values and secret-looking patterns from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        # Longest first, so that a secret containing another is masked whole.
        self._exact = re.compile("|".join(re.escape(s) for s in sorted(values, key=len, reverse=True))) \
            if values else None

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._exact is not None:
            text = self._exact.sub(MASK, text)
        text = _TELEGRAM_TOKEN.sub(MASK, text)
        text = _URL_PASSWORD.sub(rf"\1{MASK}\2", text)
        text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
        return _PAIR_SECRET.sub(rf"\1{MASK}", text)

    def value(self, value: Any) -> Any:
        """Redact strings inside (nested) lists, tuples and dicts; other values are left alone."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, SecretStr):
            return MASK
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


def configured_secrets(settings: Any) -> list[str]:
    """Every secret value the settings hold: SecretStr fields, URL passwords, robot keys."""
    from urllib.parse import urlsplit

    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            if name == "wecom_robot_keys":
                found += _robot_key_parts(secret)
        elif isinstance(value, str) and "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.append(password)
    return found


def _robot_key_parts(text: str) -> list[str]:
    """The keys in ``name=key,name=https://…?key=…`` (any separator the parser accepts)."""
    from urllib.parse import parse_qs, urlsplit

    parts: list[str] = []
    for raw in re.split(r"[,\uff0c\uff1b;\n]", text):
        _name, _sep, value = raw.partition("=")
        value = value.strip()
        if value.startswith(("http://", "https://")):
            value = (parse_qs(urlsplit(value).query).get("key") or [""])[0]
        if value:
            parts.append(value)
    return parts


class RedactingFilter(logging.Filter):
    """Redacts a record in place: message (arguments merged in), extra fields, traceback. Never drops one."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redactor(message), None
        for key, value in list(vars(record).items()):
            if key not in _RESERVED:
                setattr(record, key, self.redactor.value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        record._redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the record's extra fields, exc, stack."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            message = f"{record.msg!r} {record.args!r}"
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": self.redactor(message),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_") and key not in entry:
                entry[key] = self.redactor.value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = self.redactor(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redactor(self.formatStack(record.stack_info))
        return jsonlib.dumps(entry, ensure_ascii=False, default=lambda v: self.redactor(str(v)))


class RedactingFormatter(logging.Formatter):
    """The usual one-line text format, redacted."""

    def __init__(self, redactor: Redactor,
                 fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


_HANDLER_MARK = "_diaodu_handler"


def setup_logging(settings: Any, *, json: bool, level: int = logging.INFO,
                  stream: TextIO | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) as JSON lines or text, secrets redacted; replaces a previous call's handler.

    httpx logs every request URL at INFO, and Telegram's carry the token: they are kept at WARNING (and
    redacted anyway).
    """
    redactor = Redactor(configured_secrets(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if json else RedactingFormatter(redactor))
    handler.addFilter(RedactingFilter(redactor))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    # Drop an earlier call's handler and the plain one of logging.basicConfig (not other handlers, such
    # as a test runner's capturing handler).
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    return handler


def drop_logging() -> None:
    """Take ``setup_logging``'s handler off the root logger again: for a process that ran a `diaodu` command
    in-process and goes on (the tests), whose stream (stderr then) may be closed since."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
