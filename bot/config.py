"""Settings read from the environment (and an optional .env file), built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    http_host: str = Field("0.0.0.0", alias="HTTP_HOST")
    http_port: int = Field(8080, alias="HTTP_PORT")

    data_dir: Path = Field(Path("data"), alias="DATA_DIR")
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    invite_ttl_hours: int = Field(72, alias="INVITE_TTL_HOURS", ge=1)
    import_max_bytes: int = Field(5 * 1024 * 1024, alias="IMPORT_MAX_BYTES", ge=1)
    # /project_set asks for 确认 when the annual plan changes by more than this share of the old plan, or
    # when the completion rate would end above the second figure (shares: 0.30 = 30 %).
    plan_change_confirm: float = Field(0.30, alias="PLAN_CHANGE_CONFIRM", ge=0)
    completion_confirm: float = Field(1.20, alias="COMPLETION_CONFIRM", ge=0)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file behind DATABASE_URL, if it is a file-backed SQLite URL."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix):])
        return None


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
