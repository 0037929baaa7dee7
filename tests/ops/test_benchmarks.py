"""Every benchmark in bench/ still runs: each at a tiny size, in a process of its own, to the end.

The numbers are not checked (they mean nothing at this size); what is checked is that the benchmark starts,
finishes and prints its verdict lines, and the outcomes that must hold at any size (fan-out: nothing lost,
nothing sent twice).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

TINY = {
    "report_throughput.py": (["--n", "20", "--rounds", "1"], ["ratio full/echo", "SQL statements per report"]),
    "bulletin.py": (["--projects", "60", "--reports", "3000", "--problems", "30", "--rounds", "1"],
                    ["bulletin 2026-W47: ", "bulletin 2026-11: ", "verdict:"]),
    "ranking.py": (["--projects", "60", "--reports", "3000", "--problems", "30", "--rounds", "1"],
                   ["standings 2026-W47: 60 projects", "goal <= 1 s:"]),
    "escalation_tick.py": (["--sizes", "200", "--due", "5", "--repeat", "1"], ["goal: one tick with 5 due"]),
    "rush.py": (["--liaisons", "20", "--window", "2", "--projects", "200", "--reports", "3000", "--problems", "30",
                 "--bulletin-at", "0.5"],
                ["LOST 0;", "every report stored once: 20 of 20", "verdict:"]),
    "wecom_rush.py": (["--liaisons", "20", "--window", "2", "--projects", "200", "--reports", "3000", "--problems",
                       "30", "--bulletin-at", "0.5"],
                      ["LOST 0;", "every report stored once: 20 of 20 (0 missing, DUPLICATED 0)",
                       "goal: no retry needed", "goal: callback answer p99", "verdict:"]),
    "fanout.py": (["--recipients", "30"], ["LOST 0 ", "DUPLICATED 0 chats", "verdict:"]),
    "startup.py": (["--projects", "60", "--reports", "300", "--problems", "30", "--starts", "1", "--idle", "1"],
                   ["goal: first getUpdates", "goal: idle RSS", "verdict:"]),
    "web.py": (["--projects", "60", "--reports", "300", "--problems", "30", "--rounds", "1", "--photos", "1"],
               ["goal: every overview <= 300 ms", "goal: every page <= 1 MB", "verdict:"]),
    "import_answers.py": (["--projects", "60", "--people", "300", "--interval", "0.05"],
                          ["goal: answers during a 60-row import", "导入预览", "verdict:"]),
    "ledger_import.py": (["--projects", "40", "--people", "30", "--units", "5"],
                         ["unchanged re-import", "goal <= 10.00 s:", "(projects +0 ~0 =40; people +0 ~0 =30)",
                          "确认 of the changed file", "locks held"]),
}


@pytest.mark.parametrize("script", sorted(TINY))
def test_the_benchmark_runs_to_the_end(script: str, tmp_path: Path) -> None:
    arguments, expected = TINY[script]
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    # A benchmark exits 1 when a goal is missed: at this size, on a busy machine, that says nothing. Anything
    # else (a crash, a traceback) is a failure.
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.returncode == 0 or "FAIL" in done.stdout, done.stdout[-2000:] + done.stderr[-4000:]
    for line in expected:
        assert line in done.stdout, f"{line!r} missing from:\n{done.stdout[-2000:]}"
