"""A configuration error stops `diaodu run` with status EXIT_CONFIG and a Chinese message saying what is
wrong, and the systemd unit neither restarts it for that nor restarts it forever for anything else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.__main__ import EXIT_CONFIG, main
from storage.migrate import upgrade

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "diaodu.service"


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file named by DATABASE_URL, in a directory without a .env file, no channel set."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "WECOM_CORP_ID",
                 "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_ROBOT_KEYS",
                 "HTTP_PORT", "HTTP_HOST", "PHOTO_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.mark.parametrize(("variables", "said"), [
    ({}, "未配置任何渠道"),
    ({"HTTP_PORT": "八零八零"}, "HTTP_PORT"),
    ({"WECOM_AGENT_ID": "0"}, "WECOM_AGENT_ID"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook"},
     "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "WECOM_ROBOT_KEYS": "领导小组"}, "应写成 名称=key"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "DATABASE_URL": "mysql+nothing://db/diaodu"}, "DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "PHOTO_STORE": "ftp://files/photos"}, "照片存储配置有误"),
])
def test_run_exits_with_the_configuration_status(migrated: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], variables: dict[str, str],
                                                 said: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    assert main(["run"]) == EXIT_CONFIG

    err = capsys.readouterr().err
    assert err.startswith("配置错误：") and said in err
    assert f"退出状态 {EXIT_CONFIG}" in err


def test_an_out_of_date_schema_is_a_configuration_error_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")

    assert main(["run"]) == EXIT_CONFIG
    assert "diaodu db upgrade" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    assert main(["db", "upgrade"]) == EXIT_CONFIG


def _unit_setting(name: str) -> str:
    [value] = re.findall(rf"^{name}=(.+)$", UNIT.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return value.strip()


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|min)?", value).groups()  # type: ignore[union-attr]
    return float(number) * {"ms": 0.001, "s": 1, "min": 60, None: 1}[unit]


def test_the_systemd_unit_gives_up_on_configuration_errors_and_restart_loops() -> None:
    assert _unit_setting("RestartPreventExitStatus").split() == [str(EXIT_CONFIG)]
    assert _unit_setting("Restart") == "on-failure"
    burst = int(_unit_setting("StartLimitBurst"))
    interval = _seconds(_unit_setting("StartLimitIntervalSec"))
    restart_sec = _seconds(_unit_setting("RestartSec"))
    # The start limit must be reachable: `burst` starts, RestartSec apart, fit well within the interval
    # (systemd's default 10 s window never held 5 starts 5 s apart, so the unit restarted forever).
    assert 1 < burst and burst * restart_sec * 2 <= interval
    unit = UNIT.read_text(encoding="utf-8")
    assert unit.index("StartLimitBurst=") < unit.index("[Service]")  # a [Unit] setting
