"""`diaodu import` keeps the new version of each project whose name, town or holders it changes, dated, as the
chat's import does (storage.project_versions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from storage.migrate import upgrade
from tests.storage.factories import SAMPLE_PEOPLE_CSV, SAMPLE_PROJECTS_CSV


def _versions(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT p.code, u.name FROM project_versions v JOIN projects p ON p.id = v.project_id "
            "JOIN units u ON u.id = v.lead_unit_id ORDER BY v.valid_from, v.id").fetchall()


def test_the_command_lines_import_keeps_a_project_handed_to_another_unit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'diaodu.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///diaodu.sqlite3")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["import", str(SAMPLE_PROJECTS_CSV), str(SAMPLE_PEOPLE_CSV), "--as-of", "2026-11-30"]) == 0
    first = _versions(tmp_path / "diaodu.sqlite3")
    assert len(first) == 42 and ("ZD2026-001", "区住建局") in first  # each project from its creation

    text = SAMPLE_PROJECTS_CSV.read_text(encoding="utf-8-sig")
    assert ",区住建局,区工信局" in text
    (tmp_path / "台账.csv").write_text(text.replace(",区住建局,区工信局", ",区城管局,区工信局", 1),
                                      encoding="utf-8-sig")
    assert main(["import", "台账.csv", "--as-of", "2026-11-30"]) == 0, capsys.readouterr()

    assert _versions(tmp_path / "diaodu.sqlite3") == [*first, ("ZD2026-001", "区城管局")]
