"""How fast `diaodu run` starts and how much memory it holds at rest, with a large district's ledger.

    python bench/startup.py [--projects 10000] [--reports 300000] [--starts 3] [--idle 5]

A SQLite file database in a temp directory is migrated with ``diaodu db upgrade`` and filled as
``bench/ranking.py`` fills it (--projects projects with their people, units, --reports reports and some
problems; the ledger counts as imported today, so that no bulletin of the past is due at start-up, and the
bulletins and reminders are switched off, so that none falls due during the starts whatever the day and hour:
imported today, a Monday after 09:00 or a 1st of the month would have its bulletin due at every start, and
each stop wait for it). The fake Bot API from the tests listens on 127.0.0.1 in this process.

Then, --starts times, ``python -m bot run`` (what the ``diaodu run`` script runs) is started in its own
process against the fake and the database, and timed from the moment it was spawned to its first
getUpdates (the bot is then answering). It is left idle for --idle seconds (the scheduler, the outbox sender
and the leader lock running), its resident memory (VmRSS, and the peak VmHWM) is read from /proc, and it is
stopped with SIGTERM, which it must obey within 10 s. What the bot logs goes to a file
(``tests.bot_process.start_bot``, as the tests that follow its processes start it).

The interpreter compiles the project's modules to bytecode on its first start (``make install`` does that
ahead of time with ``python -m compileall``): with --cold, the project's ``__pycache__`` directories are
removed before the first start, to see that first start as an install without compiled bytecode would.

Goals: first getUpdates within 1.5 s of the start; idle RSS at most 130 MB. Prints the goals and the
verdict (PASS or FAIL), judged on the median of the starts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import update  # noqa: E402

from bench.ranking import build_district  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Project  # noqa: E402
from tests.bot_process import said, start_bot  # noqa: E402
from tests.e2e.harness import without_digests  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402

TOKEN = "123456:START-token"
FIRST_POLL_GOAL = 1.5  # seconds
RSS_GOAL_MB = 130.0
PROJECT_PACKAGES = ("bot", "handlers", "jobs", "storage")


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


async def prepare(tmp: Path, args: argparse.Namespace, env: dict[str, str]) -> str:
    url = env["DATABASE_URL"]
    upgrade = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "db", "upgrade", cwd=tmp, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await upgrade.communicate()
    if upgrade.returncode != 0:
        raise SystemExit(f"db upgrade failed:\n{output.decode()[-2000:]}")
    db = Database(url)
    try:
        began = time.perf_counter()
        counts = await build_district(db, projects=args.projects, reports=args.reports, problems=args.problems)
        async with db.session() as session:  # imported today: nothing of the past is due at start-up
            now = datetime.now(UTC)
            await session.execute(update(Project).values(created_at=now))
            await without_digests(session, now=now, by="bench")
    finally:
        await db.dispose()
    return f"built in {time.perf_counter() - began:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())


async def one_start(fake: FakeBotAPI, env: dict[str, str], cwd: Path, idle: float) -> tuple[float, float, float]:
    """(seconds to the first getUpdates, idle RSS MB, peak RSS MB) of one `diaodu run`."""
    since = len(fake.calls)
    log = cwd / "bot.log"
    began = time.monotonic()
    process = await start_bot(env, cwd, log)
    try:
        # The first getUpdates that began after the spawn (a previous run's last long poll may be recorded
        # late, when the fake finishes answering it).
        while not (polls := [c.at for c in fake.calls_of("getUpdates", since=since) if c.at >= began]):
            if time.monotonic() - began > 60 or process.returncode is not None:
                raise SystemExit("no getUpdates within 60 s; the bot said:\n" + said(log))
            await asyncio.sleep(0.005)
        first_poll = min(polls) - began
        await asyncio.sleep(idle)
        if process.returncode is not None:
            raise SystemExit(f"the bot stopped with {process.returncode} while idle")
        rss, peak = memory_mb(process.pid)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise SystemExit("the bot did not stop within 10 s of SIGTERM; it said:\n" + said(log)) from None
    return first_poll, rss, peak


def compiled_modules() -> tuple[int, int]:
    """(modules of the project with up-to-date bytecode, modules of the project)."""
    sources = [path for package in PROJECT_PACKAGES for path in (REPO / package).rglob("*.py")]
    compiled = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        compiled += cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
    return compiled, len(sources)


def remove_bytecode() -> int:
    removed = 0
    for package in PROJECT_PACKAGES:
        for cache in (REPO / package).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
            removed += 1
    return removed


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="diaodu-start-") as name:
        tmp = Path(name)
        async with FakeBotAPI(token=TOKEN) as fake:
            env = fake.run_environment(f"sqlite+aiosqlite:///{tmp / 'start.sqlite3'}", tmp / "data")
            print(await prepare(tmp, args, env))
            print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.starts} starts, idle {args.idle:g} s each",
                  flush=True)
            if args.cold:
                print(f"removed {remove_bytecode()} __pycache__ directories of the project before the first start")
            compiled, modules = compiled_modules()
            unwritten = "; PYTHONDONTWRITEBYTECODE is set, so no start compiles them" \
                if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
            print(f"project bytecode: {compiled} of {modules} modules compiled ahead (`make install` compiles "
                  f"them{unwritten})", flush=True)
            polls, rsss = [], []
            for n in range(1, args.starts + 1):
                first_poll, rss, peak = await one_start(fake, env, tmp, args.idle)
                polls.append(first_poll)
                rsss.append(rss)
                print(f"start {n}: first getUpdates after {first_poll:.2f} s; idle RSS {rss:.1f} MB "
                      f"(peak {peak:.1f} MB)", flush=True)
    poll, rss = statistics.median(polls), statistics.median(rsss)
    goals = [(f"first getUpdates <= {FIRST_POLL_GOAL:g} s after start: median {poll:.2f} s "
              f"(of {', '.join(f'{p:.2f}' for p in polls)})", poll <= FIRST_POLL_GOAL),
             (f"idle RSS <= {RSS_GOAL_MB:g} MB with {args.projects:,} projects: median {rss:.1f} MB",
              rss <= RSS_GOAL_MB)]
    for text, met in goals:
        print(f"goal: {text} — {'met' if met else 'MISSED'}")
    print(f"verdict: {'PASS' if all(met for _, met in goals) else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=300_000)
    parser.add_argument("--problems", type=int, default=3_000)
    parser.add_argument("--starts", type=int, default=3, help="starts measured (medians judged)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds left idle before reading the memory")
    parser.add_argument("--cold", action="store_true",
                        help="remove the project's compiled bytecode before the first start")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
