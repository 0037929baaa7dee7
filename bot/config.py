"""Settings read from the environment (and an optional .env file), built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.worded_error import WordedError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/diaodu.sqlite3"


class Settings(BaseSettings):
    """Everything the bot reads from its environment; see .env.example for each variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_username: str = Field("diaodu_bot", alias="TELEGRAM_BOT_USERNAME")
    telegram_base_url: str | None = Field(None, alias="TELEGRAM_BASE_URL")
    telegram_base_file_url: str | None = Field(None, alias="TELEGRAM_BASE_FILE_URL")
    telegram_proxy: str | None = Field(None, alias="TELEGRAM_PROXY")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")

    wecom_corp_id: str | None = Field(None, alias="WECOM_CORP_ID")
    wecom_agent_id: int | None = Field(None, alias="WECOM_AGENT_ID", ge=1)
    wecom_secret: SecretStr | None = Field(None, alias="WECOM_SECRET")
    wecom_token: SecretStr | None = Field(None, alias="WECOM_TOKEN")
    wecom_aes_key: SecretStr | None = Field(None, alias="WECOM_AES_KEY")
    wecom_api_base: str = Field("https://qyapi.weixin.qq.com", alias="WECOM_API_BASE")
    wecom_robot_keys: SecretStr | None = Field(None, alias="WECOM_ROBOT_KEYS")

    # Loopback unless configured: the server is meant to sit behind a TLS-terminating proxy.
    http_host: str = Field("127.0.0.1", alias="HTTP_HOST")
    http_port: int = Field(8080, alias="HTTP_PORT")
    metrics_token: SecretStr | None = Field(None, alias="METRICS_TOKEN")

    # The web pages (bot.web): the public address people open, and the idle limit of a signed-in browser.
    web_public_url: str | None = Field(None, alias="WEB_PUBLIC_URL")
    web_session_idle_hours: float = Field(12, alias="WEB_SESSION_IDLE_HOURS", gt=0)
    # How far behind the data the pages' standings may fall (bot.web.live_standings), in seconds.
    web_standings_seconds: float = Field(60, alias="WEB_STANDINGS_SECONDS", gt=0)
    wecom_oauth_base: str = Field("https://open.weixin.qq.com", alias="WECOM_OAUTH_BASE")

    data_dir: Path = Field(Path("data"), alias="DATA_DIR")
    # How often the leader looks for the journals of processes that died while it leads (bot.channels.journals),
    # in seconds.
    journal_take_over_seconds: float = Field(30, alias="JOURNAL_TAKE_OVER_SECONDS", gt=0)
    # Where report photos are kept (bot.services.photo_store): empty = DATA_DIR/photos, a folder, or
    # s3://bucket/prefix with the PHOTO_S3_* settings.
    photo_store: str | None = Field(None, alias="PHOTO_STORE")
    photo_s3_endpoint: str | None = Field(None, alias="PHOTO_S3_ENDPOINT")
    photo_s3_region: str | None = Field(None, alias="PHOTO_S3_REGION")
    photo_s3_access_key: str | None = Field(None, alias="PHOTO_S3_ACCESS_KEY")
    photo_s3_secret_key: SecretStr | None = Field(None, alias="PHOTO_S3_SECRET_KEY")
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    invite_ttl_hours: int = Field(72, alias="INVITE_TTL_HOURS", ge=1)
    import_max_bytes: int = Field(5 * 1024 * 1024, alias="IMPORT_MAX_BYTES", ge=1)
    # /project_set asks for 确认 when the annual plan changes by more than this share of the old plan, or
    # when the completion rate would end above the second figure (shares: 0.30 = 30 %).
    plan_change_confirm: float = Field(0.30, alias="PLAN_CHANGE_CONFIRM", ge=0)
    completion_confirm: float = Field(1.20, alias="COMPLETION_CONFIRM", ge=0)
    # /broadcast to more than this many people waits for the admin's 确认发送, with the count shown.
    broadcast_confirm: int = Field(10, alias="BROADCAST_CONFIRM", ge=0)
    # A liaison may correct (/correct) their reports of the last this many working days; admins any report.
    correct_window_days: int = Field(3, alias="CORRECT_WINDOW_DAYS", ge=0)

    def wecom_robots(self) -> dict[str, str]:
        """The group robots of WECOM_ROBOT_KEYS, name → key (raises RobotKeysError when malformed)."""
        return parse_robot_keys(self.wecom_robot_keys.get_secret_value() if self.wecom_robot_keys else None)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file behind DATABASE_URL, if it is a file-backed SQLite URL."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix):])
        return None


class RobotKeysError(WordedError, ValueError):
    """WECOM_ROBOT_KEYS is malformed, by its reason; the words say where."""

    template = "cli/robot_keys_refused"


def parse_robot_keys(text: str | None) -> dict[str, str]:
    """"领导小组=key1,项目办=key2" → {"领导小组": "key1", "项目办": "key2"}.

    Pairs are separated by commas (or Chinese commas / semicolons / newlines); a value may also be
    the robot's whole webhook URL, from which the key is taken.
    """
    robots: dict[str, str] = {}
    if not text:
        return robots
    for sep in ("\uff0c", "\uff1b", ";", "\n"):  # Chinese comma and semicolon, semicolon, newline
        text = text.replace(sep, ",")
    for raw in text.split(","):
        pair = raw.strip()
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if value.startswith(("http://", "https://")):
            value = (parse_qs(urlsplit(value).query).get("key") or [""])[0]
        if not sep or not name or not value:
            raise RobotKeysError("pair", name=name or pair[:10])
        if name in robots:
            raise RobotKeysError("repeated", name=name)
        robots[name] = value
    return robots


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
