"""The ledger import, one use case for the chat's /import and the CLI's `diaodu import`.

`import_ledger` runs in the caller's session: it reads and checks the files (in the running bot's worker
process, bot.workers, so that the chat goes on being answered: 50,000 rows are some 14 s of CPU; in a worker
thread for the CLI and the tests), reads what the database holds once, works out every change in memory
(bot.domain.ledger_diff, in a worker thread: the plan of 50,000 new projects would cost the bot's process more
to take back from another process, some 24 MB to unpickle in one go, than working it out beside the event loop
does), and only then writes, in bulk (storage.ledger_import). Until that last step it only reads, so a long
import holds SQLite's write lock for the few statements of the write alone; and it writes only when nothing it
compared was written meanwhile, which the database's change marks tell in one small read under the write's lock
(storage.ledger_marks). A dry run stops before writing and says what importing would do.

The baseline's day (截至某日) comes from the file when it names one, else from `as_of` (the admin's answer
in the chat, `--as-of` on the CLI); a file whose title names an earlier year (「2026年…」 imported in 2027)
and no day is that year's, up to its 31 December. A day not over yet (today or later), wherever it comes from,
is refused here, the one place all three pass. The plans are written for the year of that day. Without
either, the import can still go ahead when the day would not
change any figure (no report of the year that it could cover); otherwise the result `needs_as_of` and
nothing is written.

The sheet 项目节点计划, when the files have it, makes the nodes what it says (bot.domain.node_plan: added,
changed, taken off the plan); without it the nodes are left alone.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, to_local
from bot.domain.ledger_diff import plan_import
from bot.domain.ledger_digest import state_digest
from bot.domain.ledger_plan import KEEP, Conflict, ImportPlan, RowChange
from bot.domain.ledger_rows import ImportIssue, Ledger
from bot.domain.node_plan import plan_nodes
from bot.ledger import read_ledger
from bot.ledger.issue_words import issue_words
from bot.workers import Workers, off_loop
from storage import audit
from storage import nodes as node_repo
from storage.audit import Actor
from storage.db import Database
from storage.ledger_import import prepare_write, session_dialect, write_prepared
from storage.ledger_marks import AFTER_WRITE, claim, marked, read_marks
from storage.ledger_state import (
    IMPORT_ACTION,
    known_project_codes,
    known_unit_names,
    load_state,
    people_without_phone,
)

if TYPE_CHECKING:
    from bot.domain.ledger_plan import LedgerState
    from bot.domain.node_plan import StoredNode
    from bot.services.import_previews import Previewed

__all__ = ["ISSUES_LISTED", "Compared", "ImportResult", "ImportedFile", "import_ledger", "import_ledger_files",
           "write_previewed"]

ISSUES_LISTED = 50  # errors of a ledger listed by the chat and the CLI; the others are counted


@dataclass(frozen=True)
class Compared:
    """What an import compared its file with: the digest of the database's state (bot.domain.ledger_digest),
    how it was read (the baseline's day it was read for; whether reports and nodes count), and the database's
    change marks read just before it (storage.ledger_marks): while those that count are unchanged, so is the
    state."""

    digest: str
    day: date | None
    reports: bool
    nodes: bool
    marks: Mapping[str, int] = field(default_factory=dict)

    @property
    def marked(self) -> tuple[str, ...]:
        """The marks whose change can change the digest."""
        return marked(reports=self.reports, nodes=self.nodes)

    def unchanged(self, marks: Mapping[str, int]) -> bool:
        """Whether `marks` (read later) say that nothing the digest depends on was written since."""
        return all(marks.get(name, 0) == self.marks.get(name, 0) for name in self.marked)


async def _compared(session: AsyncSession, compared: Compared, *, today: date
                    ) -> tuple[LedgerState, list[StoredNode] | None, Compared]:
    """The state `plan_import` compares with, the stored nodes (when they are compared), and `compared` with
    their digest and the marks read just before them."""
    marks = await read_marks(session)
    state = await load_state(session, today=today, as_of=compared.day)
    stored = await node_repo.stored_nodes(session) if compared.nodes else None
    digest = await asyncio.to_thread(state_digest, state, reports=compared.reports, nodes=stored)
    return state, stored, replace(compared, digest=digest, marks=marks)


@dataclass(frozen=True)
class ImportedFile:
    """A file an import read, as its audit entry names it: the name its sender gave it, its digest and size."""

    name: str
    sha256: str
    size: int


def _described(files: Sequence[Path], names: Sequence[str] | None) -> tuple[ImportedFile, ...]:
    """`files` under `names` (the names their sender gave them; by default their own)."""
    given = list(names) if names is not None else [path.name for path in files]
    described = []
    for path, name in zip(files, given, strict=True):
        content = path.read_bytes()
        described.append(ImportedFile(name, hashlib.sha256(content).hexdigest(), len(content)))
    return tuple(described)


@dataclass
class ImportResult:
    """What an import did (`written`), or in a dry run would do; or why it cannot (issues, no baseline day)."""

    issues: list[ImportIssue] = field(default_factory=list)
    plan: ImportPlan | None = None
    written: bool = False
    skipped_sheets: list[str] = field(default_factory=list)  # sheets of the workbooks that were not read
    hidden_sheets: list[str] = field(default_factory=list)  # hidden sheets, never read
    compared: Compared | None = None  # what the file was compared with (when it was read without issues)
    stale: bool = False  # not written: the database no longer held what the preview compared the file with
    as_of_refused: bool = False  # the baseline's day (the file's or the one given) is not over yet
    files: tuple[ImportedFile, ...] = ()  # what was read (for the audit entry of the import that writes it)

    @property
    def needs_as_of(self) -> bool:
        return self.plan is not None and self.plan.needs_as_of

    @property
    def added(self) -> Counter[str]:
        return self.plan.added if self.plan else Counter()

    @property
    def changed(self) -> Counter[str]:
        return self.plan.changed if self.plan else Counter()

    @property
    def unchanged(self) -> Counter[str]:
        return self.plan.unchanged if self.plan else Counter()

    @property
    def changes(self) -> list[RowChange]:
        return self.plan.changes if self.plan else []

    @property
    def conflicts(self) -> list[Conflict]:
        return self.plan.conflicts if self.plan else []


def _as_of_refused(ledger: Ledger, day: date | None, source: str | None, *, today: date,
                   files: Sequence[Path]) -> list[ImportIssue]:
    """The issue of a baseline's day not over yet, wherever it comes from (the file's title or header, the day
    typed in the chat, `--as-of`): a base counts up to the end of its day (``bot.domain.year_to_date``), so one
    of today or later would hold, and never count, the reports sent until its day is over."""
    if day is None or day < today:
        return []
    sheet, row = ledger.as_of_at if source == "file" else (files[0].name if files else "", 0)
    return [ImportIssue(sheet, row, "", issue_words("as_of_to_come", day=day, today=today, source=source))]


async def import_ledger(
    session: AsyncSession,
    files: Sequence[Path],
    *,
    now: datetime,
    actor: Actor,
    as_of: date | None = None,
    dry_run: bool = False,
    choices: Mapping[str, str] | None = None,
    take_file: bool = False,
    progress: Callable[[int], object] | None = None,
    workers: Workers | None = None,
    expect: str | None = None,
    names: Sequence[str] | None = None,
) -> ImportResult:
    """Import `files` in `session`'s transaction (the caller commits): nothing is written when the files
    have an issue, when the baseline's day is needed and unknown, or in a dry run. `choices` decides the
    conflicts with the chat by key ("keep" or "file"; for the others: the file's version with `take_file`,
    else keep what was done in the chat). The files are read and checked in a worker process of `workers`
    (the running bot's: the chat goes on being answered meanwhile), else in a worker thread, which alone
    can report `progress` (the CLI's bar). The result says what the file was compared with (`compared`), so
    that a preview's plan can be written later if that still holds (`write_previewed`); with `expect` (the
    digest a preview had) nothing is written when it no longer does. The database is read once; nothing is
    written either when something it compared was written after that read (by the running bot, while the CLI
    imports): the result is then `stale`. An import that writes records itself in the audit trail
    (``ledger.import``), naming the files by `names` (the names the admin sent them under; else their own)."""
    known = await known_unit_names(session)
    codes = await known_project_codes(session)
    phoneless = await people_without_phone(session)
    today = to_local(now).date()
    read = partial(read_ledger, list(files), known_units=known, known_projects=codes, known_people=phoneless,
                   progress=progress, today=today)
    ledger = await off_loop(workers, read)
    day, source = (ledger.as_of, "file") if ledger.as_of else (as_of, "given") if as_of else (None, None)
    refused = _as_of_refused(ledger, day, source, today=today, files=files)
    if ledger.issues or refused:
        return ImportResult(issues=[*ledger.issues, *refused], hidden_sheets=ledger.hidden_sheets,
                            as_of_refused=bool(refused))
    if day is None and ledger.year is not None and ledger.year < today.year:
        # Last year's ledger (titled so) brought in after the year turned: its figures and plans are that
        # year's, up to its end; they must not become this year's.
        day, source = date(ledger.year, 12, 31), "title"
    # Without the day, the baseline's day the plan takes can depend on the year's reports (`Compared.reports`).
    compared = Compared("", day, reports=day is None, nodes=ledger.nodes_read)
    state, stored, compared = await _compared(session, compared, today=today)
    described = await asyncio.to_thread(_described, files, names)
    sheets = {"skipped_sheets": ledger.skipped_sheets, "hidden_sheets": ledger.hidden_sheets, "files": described}
    if expect is not None and compared.digest != expect:
        return ImportResult(compared=compared, stale=True, **sheets)
    plan = await asyncio.to_thread(plan_import, ledger, state, today=today, as_of=day, as_of_source=source,
                                   choices=choices, default_choice="file" if take_file else "keep")
    if ledger.nodes_read and not plan.needs_as_of:
        plan.nodes = plan_nodes(ledger.nodes, stored or [])
    if plan.needs_as_of or dry_run:
        return ImportResult(plan=plan, compared=compared, **sheets)
    if not await _write_unchanged(session, plan, compared, described, now=now, actor=actor):
        return ImportResult(compared=compared, stale=True, **sheets)
    return ImportResult(plan=plan, written=True, compared=compared, **sheets)


async def write_previewed(session: AsyncSession, previewed: Previewed, *, now: datetime,
                          actor: Actor) -> ImportResult | None:
    """Write the plan a preview showed (a dry run of `import_ledger`), in `session`'s transaction, if the
    database still holds what it was compared with and it is still the day it was worked out for; else None,
    and nothing is written. While the change marks are those the preview read, nothing it compared was written
    since; else the state is read again (once) and its digest must be the preview's."""
    plan, compared = previewed.result.plan, previewed.result.compared
    if plan is None or plan.needs_as_of or compared is None or to_local(now).date() != previewed.today:
        return None
    if not compared.unchanged(await read_marks(session)):
        _state, _stored, again = await _compared(session, compared, today=previewed.today)
        if again.digest != compared.digest:
            return None
        compared = again
    files = previewed.result.files
    if not await _write_unchanged(session, plan, compared, files, now=now, actor=actor):
        return None
    return ImportResult(plan=plan, written=True, skipped_sheets=previewed.result.skipped_sheets,
                        hidden_sheets=previewed.result.hidden_sheets, files=files)


async def _write_unchanged(session: AsyncSession, plan: ImportPlan, compared: Compared,
                           files: Sequence[ImportedFile], *, now: datetime, actor: Actor) -> bool:
    """Write `plan` if nothing it was worked out against (`compared`) was written since its marks were read;
    whether it did. Every import writes through here: the chat's 确认 and `diaodu import` alike, and so each
    leaves the same record: its ``ledger.import`` audit entry (`_audited`), which the next import's conflicts
    with the chat are counted from (storage.ledger_state).

    Every row is made ready first (storage.ledger_import.prepare_write) and the marks are read without a lock
    (a change seen there costs no lock). Then the marks are taken (storage.ledger_marks.claim: on SQLite its
    write lock, on PostgreSQL the marks' rows, which every writer of those tables waits for from then on) and
    must still be those `compared` read: one small statement each, not a read of the whole ledger, so the lock
    is held for the import's statements alone. On PostgreSQL the reports' mark is taken after the writes (a
    report locks its project before it bumps the mark), all in a savepoint, rolled back when a mark moved, which
    gives the locks back at once. SQLite has no such step back: a mark found moved only once its lock is taken (a
    change committed in the instant since the marks were read) leaves the lock held until the transaction ends,
    which the chat's 确认 ends before it previews the file again (handlers.admin_import)."""
    prepared = await prepare_write(plan, now=now, actor=actor, dialect=session_dialect(session))
    if not compared.unchanged(await read_marks(session)):
        return False
    postgres = session_dialect(session).name == "postgresql"
    first = [name for name in compared.marked if not (postgres and name in AFTER_WRITE)]
    last = [name for name in compared.marked if name not in first]
    savepoint = await session.begin_nested() if postgres else None
    if await claim(session, compared.marks, first):
        await write_prepared(session, prepared)
        await _audited(session, plan, files, now=now, actor=actor)
        if await claim(session, compared.marks, last):
            if savepoint is not None:
                await savepoint.commit()
            return True
    if savepoint is not None:
        await savepoint.rollback()
    return False


async def _audited(session: AsyncSession, plan: ImportPlan, files: Sequence[ImportedFile], *, now: datetime,
                   actor: Actor) -> None:
    """The audit entry of an import written: its files, baseline's day, counts and the choices of its conflicts."""
    name = " + ".join(file.name for file in files)  # as the audit trail names them (file names, not words)
    digests = [file.sha256 for file in files]
    await audit.record(session, actor=actor, at=now, action=IMPORT_ACTION, object_type="ledger",
                       object_key=name[:100],
                       detail={"file": name, "sha256": digests[0] if len(digests) == 1 else digests,
                               "bytes": sum(file.size for file in files),
                               "as_of": plan.as_of.isoformat() if plan.as_of else None,
                               "added": {**plan.added, **_nodes(plan, "added")},
                               "changed": {**plan.changed, **_nodes(plan, "changed")},
                               "unchanged": dict(plan.unchanged),
                               "conflicts": {c.key: c.choice for c in plan.conflicts if c.choice is not None},
                               # the posts the chat's holder keeps against the file (the next import asks again)
                               "handovers_kept": sorted(c.key for c in plan.conflicts if c.kind == "handover"
                                                        and (c.choice == KEEP or c.blocked))})


def _nodes(plan: ImportPlan, what: str) -> dict[str, int]:
    """The nodes added or changed, for the audit (none when the files had no 项目节点计划)."""
    return {"node": plan.nodes.counts[what]} if plan.nodes is not None and plan.nodes.counts[what] else {}


async def import_ledger_files(db: Database, clock: Clock, files: Sequence[Path], *, actor: Actor,
                              **options: object) -> ImportResult:
    """`import_ledger` in a transaction of its own, committed unless nothing was written."""
    async with db.session() as session:
        return await import_ledger(session, files, now=clock.now(), actor=actor, **options)  # type: ignore[arg-type]
