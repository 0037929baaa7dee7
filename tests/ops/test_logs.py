"""Structured logs: one valid JSON object per line, with tokens, secrets and passwords redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import load_settings
from bot.ops.logs import MASK, JsonFormatter, Redactor, configured_secrets, setup_logging

TOKEN = "7312345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER_TOKEN = "5550001111:AAF-some_other_bots_token_0123456789"  # not configured: found by its shape
WECOM_SECRET = "Zx9-wecom-app-secret-value"
DB_PASSWORD = "hunter2-db-pass"
WEBHOOK_SECRET = "tg-webhook-secret-123"
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    return load_settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        WECOM_SECRET=WECOM_SECRET,
        WECOM_ROBOT_KEYS=f"领导小组=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}",
        DATABASE_URL=f"postgresql+asyncpg://diaodu:{DB_PASSWORD}@db:5432/diaodu",
    )


@pytest.fixture
def captured(settings) -> Iterator[io.StringIO]:  # type: ignore[no-untyped-def]
    """Logs of the root logger as JSON lines into a buffer; the logging set-up is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = setup_logging(settings, json=True, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)
        logging.captureWarnings(False)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    for secret in (TOKEN, OTHER_TOKEN, WECOM_SECRET, DB_PASSWORD, WEBHOOK_SECRET, ROBOT_KEY,
                   TOKEN.split(":")[1]):
        assert secret not in text, f"{secret!r} leaked into the log"
    return [json.loads(line) for line in text.splitlines()]


def test_a_token_in_a_url_is_redacted_and_the_line_is_json(captured: io.StringIO) -> None:
    log = logging.getLogger("telegram.ext.Updater")
    log.warning("POST https://api.telegram.org/bot%s/sendMessage failed: %s", TOKEN, "timed out")
    [entry] = _lines(captured)
    assert entry["msg"] == f"POST https://api.telegram.org/bot{MASK}/sendMessage failed: timed out"
    assert entry["level"] == "WARNING" and entry["logger"] == "telegram.ext.Updater"
    assert str(entry["ts"]).endswith("Z") and "T" in str(entry["ts"])


def test_every_kind_of_secret_is_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("diaodu.test")
    log.info("GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=%s", WECOM_SECRET)
    log.info("send https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=ACCESS-abc123xyz&debug=1")
    log.info("answer {\"errcode\": 0, \"access_token\": \"ACCESS-abc123xyz\", \"expires_in\": 7200}")
    log.error("cannot connect to postgresql+asyncpg://diaodu:%s@db:5432/diaodu", DB_PASSWORD)
    log.error("some other url socks5://proxyuser:proxy-pass-77@proxy:1080 and password=letmein99")
    log.info("webhook secret header %s", WEBHOOK_SECRET)
    log.info("robot https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=%s", ROBOT_KEY)
    log.info("an unknown bot https://api.telegram.org/bot%s/getMe", OTHER_TOKEN)
    entries = _lines(captured)
    messages = [str(e["msg"]) for e in entries]
    assert messages[0].endswith(f"corpid=ww1&corpsecret={MASK}")
    assert messages[1].endswith(f"access_token={MASK}&debug=1")
    assert "ACCESS-abc123xyz" not in messages[2] and '"expires_in": 7200' in messages[2]
    assert messages[3] == f"cannot connect to postgresql+asyncpg://diaodu:{MASK}@db:5432/diaodu"
    assert "proxy-pass-77" not in messages[4] and "letmein99" not in messages[4]
    assert messages[5] == f"webhook secret header {MASK}"
    assert messages[6].endswith(f"?key={MASK}")
    assert messages[7] == f"an unknown bot https://api.telegram.org/bot{MASK}/getMe"


def test_extra_fields_and_tracebacks_are_kept_and_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.services.outbox")
    try:
        raise ConnectionError(f"https://api.telegram.org/bot{TOKEN}/sendPhoto: reset")
    except ConnectionError:
        log.exception("send failed", extra={"chat_id": "-100123", "attempt": 3,
                                            "url": f"https://api.telegram.org/bot{TOKEN}/sendPhoto",
                                            "detail": {"tries": [f"bot{TOKEN}"], "ok": False}})
    [entry] = _lines(captured)
    assert entry["chat_id"] == "-100123" and entry["attempt"] == 3
    assert entry["url"] == f"https://api.telegram.org/bot{MASK}/sendPhoto"
    assert entry["detail"] == {"tries": [f"bot{MASK}"], "ok": False}
    assert "ConnectionError" in str(entry["exc"]) and "Traceback" in str(entry["exc"])


def test_chinese_stays_readable(captured: io.StringIO) -> None:
    logging.getLogger("jobs").info("通报已生成:%s", "2026-W47 周通报")
    text = captured.getvalue()
    assert "通报已生成:2026-W47 周通报" in text
    assert json.loads(text)["msg"] == "通报已生成:2026-W47 周通报"


def test_text_format_is_redacted_too(settings) -> None:  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = setup_logging(settings, json=False, stream=stream)
    try:
        logging.getLogger("x").warning("url https://api.telegram.org/bot%s/getUpdates", TOKEN)
    finally:
        root.removeHandler(handler)
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
        logging.captureWarnings(False)
    line = stream.getvalue()
    assert TOKEN not in line and f"bot{MASK}/getUpdates" in line and " WARNING x: " in line


def test_secrets_come_from_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    found = configured_secrets(settings)
    for secret in (TOKEN, WECOM_SECRET, DB_PASSWORD, WEBHOOK_SECRET, ROBOT_KEY):
        assert secret in found


def test_a_formatter_alone_redacts_what_it_writes() -> None:
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "token %s", (TOKEN,), None)
    entry = json.loads(JsonFormatter(Redactor()).format(record))
    assert entry["msg"] == f"token {MASK}"
