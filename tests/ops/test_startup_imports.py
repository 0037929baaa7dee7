"""Starting the bot does not load the heavy libraries that only charts, workbooks and rare inputs need.

matplotlib, numpy and openpyxl together add some 40 MB to a process that may never draw a chart (a
bulletin goes out once a week); they are imported when a chart or a workbook is first built. cn2an (a
sixth of the start-up time) is imported with the first amount written in Chinese numerals (三千万), Pillow
with the first photo to keep, boto3 only when photos go to S3. Each check
runs in a fresh interpreter, since this test process has long imported them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("PIL", "boto3", "cn2an", "matplotlib", "numpy", "openpyxl")

# What `diaodu run` imports up to its first poll: the CLI, the composition root, and the modules serve()
# and build_jobs() import when they run.
STARTUP = """
import bot.__main__, bot.app
import bot.channels.telegram, bot.channels.telegram_serving, bot.channels.telegram_transport, bot.channels.wecom
import bot.ops.metrics
import bot.ops.health
import jobs.digests, jobs.escalation, jobs.nodes, jobs.reminders, jobs.scheduler
import storage.leader, storage.settings
import bot.services.photo_keeper, bot.services.photos, bot.channels.telegram_photos, bot.channels.wecom.photos
"""


def _loaded_after(code: str) -> list[str]:
    loaded = f"sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})"
    probe = code + f"\nimport json, sys\nprint(json.dumps({loaded}))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_starting_the_bot_imports_no_chart_or_workbook_library() -> None:
    assert _loaded_after(STARTUP) == []


def test_a_chart_a_workbook_and_a_chinese_numeral_load_them() -> None:
    # The same probe sees them once they are needed (so the check above is not blind).
    assert _loaded_after(STARTUP + "import bot.chart, bot.services.ledger_export\n") == [
        "PIL", "matplotlib", "numpy", "openpyxl"]  # matplotlib draws with Pillow
    assert _loaded_after(STARTUP + "from bot.domain.amounts import parse_amount\nparse_amount('三千万')\n") == [
        "cn2an"]
    assert _loaded_after(STARTUP + "import bot.services.photo_images\n") == ["PIL"]
