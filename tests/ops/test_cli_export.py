"""`diaodu export` writes the ledger workbook /export makes; `diaodu import` of it changes nothing."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from storage.migrate import upgrade
from tests.storage.factories import SAMPLE_XLSX


def test_the_exported_ledger_imports_back_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///diaodu.sqlite3")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_XLSX), "--as-of", "2026-11-30"]) == 0
    capsys.readouterr()

    assert main(["export", "--out", "台账.xlsx"]) == 0
    assert "已导出项目台账（42 个项目）：台账.xlsx" in capsys.readouterr().out
    sheets = openpyxl.load_workbook(tmp_path / "台账.xlsx", read_only=True).sheetnames
    assert sheets[-4:] == ["重点项目包抓责任分解表", "人员名单", "项目节点计划", "阶段记录"]

    assert main(["import", "台账.xlsx", "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert "项目：新增 0，更新 0，不变 42" in said and "人员：新增 0，更新 0，不变 67" in said, said
    assert "节点：新增 0，更新 0，移出计划 0，不变 197" in said
    assert "累计完成基数截至 2026-11-30（台账注明）" in said

    assert main(["export", "--out", "台账.xlsx"]) == 1  # never overwritten
    assert "台账.xlsx 已存在，未覆盖" in capsys.readouterr().err
