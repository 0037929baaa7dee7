"""The CPU-heavy half of a bulletin: from the rows the database gave, the standings, the charts, the Excel
ledger and the texts, split into messages.

``render_files_and_texts`` is a pure function of plain, picklable data (``BulletinJob``) returning plain data
(``BulletinWork``: strings, and the files it wrote), so that ``jobs.bulletin_render`` can run it in a worker process
(``bot.workers``) while the event loop goes on answering messages; the database is read before, on the loop.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from bot.clock import day_start
from bot.domain.bulletin_cut import bulletin_cuts, first, node_cuts
from bot.domain.changes import StandingsChanges, standings_changes
from bot.domain.digest_settings import DigestSettings
from bot.domain.node_lists import BulletinNodes, NodeItem, following_period
from bot.domain.participation import Participation
from bot.domain.past_year import PastYear
from bot.domain.periods import KIND_NAMES, Period
from bot.domain.problem_history import UnitProblemFigures
from bot.domain.standings import ProblemRow, ProjectStanding, Standings, period_done, period_opening, totals
from bot.domain.trend import bases_entered, counted_bases, recent_trend, unblurred
from bot.domain.urgent_problems import most_urgent, passed_by
from bot.domain.year_to_date import BaseDays, change_bases
from bot.html_split import TELEGRAM_LIMIT, split_html, utf16_len
from bot.render import Renderer
from bot.services import standings as standings_service
from storage.corrections import Correction
from storage.entered import entered_on
from storage.project_figures import ProjectFigures

__all__ = ["BulletinJob", "BulletinWork", "EarlierFigures", "OpenProblem", "render_files_and_texts"]

log = logging.getLogger(__name__)
DOCUMENT_ROWS = 20  # the Word bulletin lists the first and the last so many projects; the workbook has them all
FITS = TELEGRAM_LIMIT - 100  # a group text fits one Telegram message with room for the late notice in front
LEADER_FITS = TELEGRAM_LIMIT - 300  # a leader's digest split with room for its head (BulletinWork.leader_heads)
LOW_UNITS = 5  # the weekly bulletin names at most so many units of lowest 填报率 (the heat map has them all)
TOP_PROBLEMS = 5  # the top officials' summary names at most so many problems at their levels (/issues has all)


class OpenProblem(NamedTuple):
    """An open problem as a lead official's digest lists it."""

    number: str
    category: str
    text: str
    resolution_due_at: datetime | None
    status: str = "open"  # "resolved": the unit reported it solved, the raiser has not confirmed (销号) yet
    level: int = 0  # how far it has gone up (0: still with the unit)
    project: str | None = None  # its project's name, in the top officials' list (None there: a meeting decision)
    response_due_at: datetime | None = None  # its 受理 deadline then, while it waited at the unit to be taken up
    promised_due_at: datetime | None = None  # the end of the unit's promised day (承诺完成日期), if it gave one


@dataclass(frozen=True)
class EarlierFigures:
    """The figures of the previous period of the same kind, read the same way: what the changes (名次 ↑↓,
    completion points) are measured against."""

    period: Period
    cutoff: date
    figures: ProjectFigures
    problem_shares: dict[str, float | None]


@dataclass(frozen=True)
class BulletinJob:
    """Everything a bulletin is computed from, read from the database beforehand."""

    period: Period
    cutoff: date  # the day the standings are measured on (bot.domain.periods.measured_on)
    settings: DigestSettings
    figures: ProjectFigures
    problem_shares: dict[str, float | None]
    problems: list[ProblemRow] | None  # the problem sheet of the Excel ledger (None: no ledger)
    unit_problems: list[UnitProblemFigures]
    open_problems: dict[str, list[OpenProblem]]  # project code → its open problems
    out_dir: Path
    top_problems: list[OpenProblem] = field(default_factory=list)  # open at 区长 or above, for their summary
    corrections: list[Correction] = field(default_factory=list)  # since the last bulletin (上期数据更正)
    past_years: list[PastYear] = field(default_factory=list)  # the past years those corrections change
    late: bool = False  # the texts open with the late notice
    nodes: BulletinNodes | None = None  # the milestones due in the week ahead and missed (bot.domain.node_lists)
    earlier: EarlierFigures | None = None  # the previous period's figures (None: no changes shown)
    participation: Participation | None = None  # the units' 填报率 over the last four weeks (the weekly one)
    trend_days: list[date] = field(default_factory=list)  # the week ends of a leader's 4-week trend, cutoff last
    counted_later: dict[int, tuple[Decimal, ...]] = field(default_factory=dict)  # storage.report_figures.counted_after
    # project id → the day its base of the cut-off's year is dated (storage.ledger_bases.base_day_by_project)
    base_day_of: dict[int, date] = field(default_factory=dict)
    # project id → the reports counted after the period's opening day (bot.domain.standings.period_opening)
    counted_in_period: dict[int, Decimal] = field(default_factory=dict)
    bases: BaseDays = BaseDays()  # the ledger bases its figures cannot split (a note under the headline)
    # problems counted on a deadline at the period's end that was never recorded (a note under the problems)
    unrecorded_deadlines: int = 0
    # the bases dated after the previous period's cut-off day: its 较上期 cannot see through them (a note)
    change_bases: BaseDays = BaseDays()
    # the projects entered after the cut-off day, which it leaves out (storage.ledger_entries.ledger_on: a note)
    entered_later: int = 0

    @property
    def opens_year(self) -> bool:
        """The period opens its year (January, Q1, H1, the year): its 本期 is the year-to-date, said once."""
        return period_opening(self.period.start, self.cutoff) is None

    def period_done(self, standings: Standings) -> Decimal:
        """本期完成投资 of the bulletin's projects (bot.domain.standings.period_done)."""
        codes = {row.id: row.code for row in self.figures.projects}
        counted = {codes[i]: amount for i, amount in self.counted_in_period.items() if i in codes}
        return period_done(standings.projects, opening=period_opening(self.period.start, self.cutoff),
                           counted_since=counted)


@dataclass
class BulletinWork:
    """A bulletin's texts and the files written for it."""

    text: str
    parts: list[str]  # the text split into messages (with the late notice when late)
    top_parts: list[str]  # the top officials' summary, split
    leader_parts: dict[int, list[str]] = field(default_factory=dict)  # lead official id → their digest, split
    # lead official id → the head of his digest (bulletin_leader_head.j2) for him, and for his stand-in: put before
    # it when sent, when who reads it is known
    leader_heads: dict[int, tuple[str, str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    projects: int = 0
    failed: list[str] = field(default_factory=list)  # the files that could not be built (chart, units, ledger…)


_renderers: list[Renderer] = []


def _own_renderer() -> Renderer:
    """The worker process's renderer (templates compiled once per process)."""
    if not _renderers:
        _renderers.append(Renderer())
    return _renderers[0]


def render_files_and_texts(job: BulletinJob, renderer: Renderer | None = None) -> BulletinWork:
    """The standings, files and texts of a bulletin (seconds for 10,000 projects: never on the event loop)."""
    renderer = renderer or _own_renderer()
    settings = job.settings
    standings = _standings(job.period.name, job.cutoff, job.figures, job.problem_shares, settings)
    changes = StandingsChanges()
    if job.earlier is not None:
        earlier = job.earlier
        before = _standings(earlier.period.name, earlier.cutoff, earlier.figures, earlier.problem_shares, settings)
        changes = standings_changes(standings, before)
        if changes.since is not None:
            changes = dataclasses.replace(changes, bases=job.change_bases)
    document = None if job.problems is None or job.period.kind == "weekly" else (
        lambda: _document(renderer, standings, changes, job))
    # the weekly bulletin prints no 本期: of the bases it notes only those dated after its week
    entered = renderer.phrase("_base_note", "entered_later", job.entered_later, job.cutoff)
    note = renderer.phrase("_base_note", "note", job.bases, job.period, job.cutoff, job.opens_year,
                           job.period.kind != "weekly")
    problem_note = renderer.phrase("_problem_note", "note", job.unrecorded_deadlines)
    change_note = renderer.phrase("_base_note", "change_note", changes.bases, changes.since)
    # and the finished projects read so on every day, their 竣工 day not known
    undated = renderer.phrase("_base_note", "undated", standings.finished_undated)
    notes = [n for n in (entered, note, change_note, problem_note, undated) if n]
    files, failed = _write_files(standings, job.problems, job.period, job.out_dir, document, job.nodes,
                                 job.participation, notes)
    work = _render_texts(renderer, standings, changes, job, files)
    work.failed = failed
    return work


def _standings(name: str, cutoff: date, figures: ProjectFigures, shares: dict[str, float | None],
               settings: DigestSettings) -> Standings:
    projects = standings_service.build_standings(figures, cutoff=cutoff, thresholds=settings.thresholds)
    return standings_service.assemble(name, cutoff, projects, shares, settings.weights, settings.thresholds,
                                      settings.praise_n)


def _document(renderer: Renderer, standings: Standings, changes: StandingsChanges, job: BulletinJob) -> bytes:
    """The bulletin as a Word document laid out as a 公文 (monthly and up), python-docx loaded on first use."""
    from bot.documents import gongwen

    markup = renderer.render("bulletin_document", s=standings, period=job.period,
                             kind_name=KIND_NAMES[job.period.kind], totals=totals(standings.projects),
                             period_done=job.period_done(standings), unit_problems=_busiest(job.unit_problems),
                             opens_year=job.opens_year, bases=job.bases, rows=DOCUMENT_ROWS,
                             issued=job.cutoff, changes=changes, nodes=job.nodes,
                             following=following_period(job.period), unrecorded_deadlines=job.unrecorded_deadlines,
                             entered_later=job.entered_later)
    return gongwen.to_bytes(gongwen.parse(markup))


def _write_files(standings: Standings, problems: list[ProblemRow] | None, period: Period,
                 out_dir: Path, document: Callable[[], bytes] | None = None,
                 nodes: BulletinNodes | None = None,
                 participation: Participation | None = None,
                 notes: list[str] | None = None) -> tuple[dict[str, Path], list[str]]:
    """The bulletin's chart, the Excel ledger (when ``problems`` are given: every bulletin; with ``nodes`` its
    节点清单), the units' 填报率 heat map (with ``participation``: the weekly one) and for monthly and up the
    units' chart and the Word bulletin (``document``) under out_dir (the ledger opening on ``notes``, when given),
    and the names of the files that could not be built: each is built on its own, so that one failing
    (an odd name in the ledger, a full disk) leaves the others and the text to be sent.

    matplotlib and openpyxl are imported here, the first time a bulletin is drawn, not when the bot starts.
    """
    from bot.chart import chart_words, group_chart, ranking_chart
    from bot.services.ledger_export import bulletin_filename, ledger_workbook

    builders: dict[str, tuple[str, Callable[[], bytes]]] = {
        "chart": ("ranking.png", lambda: ranking_chart(standings))}
    if period.kind != "weekly":
        # a picture forwarded on its own still says what it is of
        units_title = chart_words("units_title", period.name, standings.cutoff)
        builders["units"] = ("units.png", lambda: group_chart(standings.units, units_title))
    if participation is not None and participation.units:
        from bot.heatmap import heatmap_chart, heatmap_title

        what = chart_words("units")
        title = heatmap_title(what, standings.cutoff)
        builders["participation"] = ("participation.png", lambda: heatmap_chart(
            participation.units, participation.weeks, title=title, what=what))
    if problems is not None:
        builders["ledger"] = (bulletin_filename("ledger", period.name),
                              lambda: ledger_workbook(standings, problems, nodes, kind=period.kind, notes=notes))
    if document is not None:
        builders["document"] = (bulletin_filename("document", period.name), document)
    files: dict[str, Path] = {}
    failed: list[str] = []
    for name, (filename, build) in builders.items():
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / filename).write_bytes(build())
        except Exception:  # noqa: BLE001 - whatever broke one file, the rest of the bulletin goes out
            log.exception("%s %s: could not build its %s", period.kind, period.name, name)
            failed.append(name)
            continue
        files[name] = out_dir / filename
    return files, failed


def _busiest(units: list[UnitProblemFigures]) -> list[UnitProblemFigures]:
    """The units with a problem raised, solved or overdue in the period, most overdue first (then most raised,
    most solved, by name): the text's and the Word document's order; a unit with nothing in the period is not
    listed."""
    return sorted((u for u in units if u.raised or u.solved or u.overdue),
                  key=lambda u: (-u.overdue, -u.raised, -u.solved, u.unit))


def _lowest(participation: Participation | None) -> list:
    """The units with something due, lowest 填报率 first (ties by name)."""
    if participation is None:
        return []
    return sorted((r for r in participation.units if r.rate is not None), key=lambda r: (r.rate, r.name))


def _render_texts(renderer: Renderer, standings: Standings, changes: StandingsChanges, job: BulletinJob,
                  files: dict[str, Path]) -> BulletinWork:
    """The bulletin's text and parts, the top officials' summary and each lead official's digest.

    The group text and the summary carry the headline figures and the ends of each list (``bulletin_cuts``):
    they fit one message whatever the district's size; the full lists are in the chart and the Excel ledger.
    """
    period, kind_name = job.period, KIND_NAMES[job.period.kind]
    settings = job.settings
    busiest = _busiest(job.unit_problems)
    lowest = _lowest(job.participation)
    # The settings' N lines at each end; fewer when the lines (with their changes) would not fit one message.
    for top_n in range(settings.bulletin_top_n, 0, -1):
        cut = bulletin_cuts(standings, top_n=top_n, red_max=settings.bulletin_red_max)
        text = renderer.render(
            "bulletin_weekly" if period.kind == "weekly" else "bulletin_periodic",
            s=standings, cut=cut, period=period, kind_name=kind_name, files=sorted(files),
            unit_problems=first(busiest, top_n),
            problem_totals=[sum(u.raised for u in busiest), sum(u.solved for u in busiest),
                            sum(u.overdue for u in busiest)],
            corrections=job.corrections, past_years=job.past_years, names={p.code: p.name for p in standings.projects},
            totals=totals(standings.projects),
            period_done=job.period_done(standings), changes=changes, part=job.participation,
            opens_year=job.opens_year, bases=job.bases,
            low_units=first(lowest, min(top_n, LOW_UNITS)),
            nodes=None if job.nodes is None else node_cuts(job.nodes, top_n=top_n),
            following=following_period(period), unrecorded_deadlines=job.unrecorded_deadlines,
            entered_later=job.entered_later,
        )
        if utf16_len(text) <= FITS:
            break
    # A problem past a deadline running on it by the end of the cut-off day is marked so, by the rule /issues
    # marks it by (bot.domain.overdue): its 办结 deadline, the unit's promised day, its 受理 deadline
    overdue_before = day_start(job.cutoff + timedelta(days=1))
    passed = functools.partial(passed_by, overdue_before=overdue_before)
    # The late notice goes in before splitting: added to a full first part it would not fit.
    sent = renderer.render("bulletin_late", kind_name=kind_name) + "\n" + text if job.late else text
    work = BulletinWork(text=text, parts=split_html(sent), files=files, projects=len(standings.projects),
                        top_parts=split_html(renderer.render("bulletin_top_summary", s=standings, cut=cut,
                                                             period=period, kind_name=kind_name,
                                                             totals=totals(standings.projects),
                                                             problems=job.top_problems[:TOP_PROBLEMS],
                                                             problem_count=len(job.top_problems),
                                                             passed=passed)))
    by_leader: dict[int, list] = {}
    for project in standings.projects:
        if project.lead_official_id is not None:
            by_leader.setdefault(project.lead_official_id, []).append(project)
    nodes = _nodes_by_project(job.nodes)
    codes = {row.id: row.code for row in job.figures.projects}
    later = {codes[project_id]: sums for project_id, sums in job.counted_later.items() if project_id in codes}
    base_day = {codes[project_id]: day for project_id, day in job.base_day_of.items() if project_id in codes}
    entered = {row.code: entered_on(row.entered_at) if row.entered_at else None for row in job.figures.projects}
    for leader_id, projects in by_leader.items():
        named, left_out = _leader_problems(projects, job.open_problems, overdue_before)
        trend, trend_bases = [], BaseDays()
        his_base_day = {p.code: base_day[p.code] for p in projects if p.code in base_day}
        his_bases = Counter(his_base_day.values())
        if len(job.trend_days) > 1:
            # a point before the base day of one of his projects it counts holds that base whole: left out, said so
            trend, trend_bases = unblurred(recent_trend(projects, later, job.trend_days, entered),
                                           functools.partial(counted_bases, bases_entered(his_base_day, entered)))
        work.leader_parts[leader_id] = split_html(renderer.render(
            "bulletin_leader", projects=projects, problems=named, left_out=left_out, changes=changes,
            trend=trend, trend_bases=trend_bases,
            change_bases=change_bases(his_bases, since=changes.since, cutoff=standings.cutoff),
            nodes={p.code: nodes.get(p.code, []) for p in projects},
            as_of=None if job.nodes is None else job.nodes.as_of, following=following_period(period),
            passed=passed,
        ), LEADER_FITS)
        own, stood_in = (renderer.render("bulletin_leader_head", lead=lead, kind_name=kind_name, period=period,
                                         cutoff=standings.cutoff).strip()
                         for lead in (None, projects[0].lead_official))
        work.leader_heads[leader_id] = (own, stood_in)
    return work


def _leader_problems(projects: list[ProjectStanding], open_problems: dict[str, list[OpenProblem]],
                     overdue_before: datetime) -> tuple[dict[str, list[OpenProblem]], dict[str, int]]:
    """The problems a leader's digest names under each of his projects (the most urgent of them all, most urgent
    first: bot.domain.urgent_problems) and how many each project has left out."""
    code_of = {p.number: pr.code for pr in projects for p in open_problems.get(pr.code, [])}
    everything = [p for pr in projects for p in open_problems.get(pr.code, [])]
    chosen, _hidden = most_urgent(everything, overdue_before=overdue_before)
    named: dict[str, list[OpenProblem]] = {pr.code: [] for pr in projects}
    for problem in chosen:
        named[code_of[problem.number]].append(problem)
    left_out = {pr.code: len(open_problems.get(pr.code, [])) - len(named[pr.code]) for pr in projects}
    return named, left_out


def _nodes_by_project(nodes: BulletinNodes | None) -> dict[str, list[tuple[str, NodeItem]]]:
    """Project code → its nodes in the bulletin's lists, as (list, node): overdue, done late, due ahead."""
    found: dict[str, list[tuple[str, NodeItem]]] = {}
    if nodes is None:
        return found
    for kind, items in (("overdue", nodes.overdue), ("late", nodes.late), ("ahead", nodes.ahead)):
        for node in items:
            found.setdefault(node.project_code, []).append((kind, node))
    return found
