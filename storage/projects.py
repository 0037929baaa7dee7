"""Repository functions for projects and the figures shown about them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, raiseload

from bot.domain.report_line import fold_code
from bot.domain.year_to_date import counts
from storage.annual_plans import plan_of_year
from storage.ledger_bases import base_join
from storage.models import Person, Project, ProjectSupportingUnit, Report, ReportPhoto, ReportSum
from storage.reports import NewReport, reported_by_liaison
from storage.types import Wan


def code_key(code: str) -> str:
    """A project code as stored (``bot.domain.report_line.fold_code``: full-width, dashes, joiners folded)."""
    return fold_code(code)


async def get_project_by_code(session: AsyncSession, *, code: str) -> Project | None:
    return await session.scalar(select(Project).where(Project.code == code_key(code)))


# What the project card shows (code, money, lead official, lead unit, supporting units, liaison) in one
# statement: the people come without their roles and units (the card shows names only; reading them raises
# rather than quietly loading), the supporting units are joined instead of a second SELECT.
_CARD_QUERY = (
    select(Project)
    .where(Project.code == bindparam("code"))
    .options(
        joinedload(Project.lead_official).raiseload("*"),
        joinedload(Project.liaison).raiseload("*"),
        joinedload(Project.supporting).joinedload(ProjectSupportingUnit.unit),
    )
)


async def get_project_for_card(session: AsyncSession, *, code: str) -> Project | None:
    """The project with just what its card shows, in one SELECT (see `_CARD_QUERY`).

    The lead official and liaison are loaded without roles or unit: do not use them for anything but their
    names and titles (the caller's own Person, already in the session, keeps everything it had).
    """
    result = await session.scalars(_CARD_QUERY, {"code": code_key(code)})
    return result.unique().one_or_none()


async def find_projects(session: AsyncSession, *, words: str) -> list[tuple[str, str]]:
    """(code, name) of the projects whose code (in any case) or name contains `words`, by code; only the
    project with exactly that code when there is one."""
    words = words.strip()
    if not words:
        return []
    exact = (await session.execute(select(Project.code, Project.name)
                                   .where(Project.code == code_key(words)))).first()
    if exact is not None:
        return [(exact[0], exact[1])]
    query = (select(Project.code, Project.name)
             .where(or_(Project.code.contains(words.upper(), autoescape=True),
                        Project.name.contains(words, autoescape=True)))
             .order_by(Project.code))
    return [(code, name) for code, name in (await session.execute(query)).all()]


async def projects_of_liaison(session: AsyncSession, *, person_id: int) -> list[Project]:
    query = select(Project).where(Project.liaison_id == person_id).order_by(Project.code)
    return list((await session.scalars(query)).unique().all())


async def projects_led_by(session: AsyncSession, *, lead_ids: Collection[int]) -> list[Project]:
    """The projects these 包抓领导 hold, by code (those a stand-in holds for them while their leave runs)."""
    if not lead_ids:
        return []
    query = select(Project).where(Project.lead_official_id.in_(sorted(lead_ids))).order_by(Project.code)
    return list((await session.scalars(query)).unique().all())


async def projects_for_person(session: AsyncSession, *, person: Person) -> list[Project]:
    """Projects a person follows: as liaison, lead official, or through their unit; top and admin see all."""
    roles = person.role_names
    query = select(Project).order_by(Project.code)
    if not roles & {"top", "admin"}:
        conditions = [Project.liaison_id == person.id, Project.lead_official_id == person.id]
        if "unit" in roles and person.unit_id is not None:
            supporting = select(ProjectSupportingUnit.project_id).where(
                ProjectSupportingUnit.unit_id == person.unit_id
            )
            conditions += [Project.lead_unit_id == person.unit_id, Project.id.in_(supporting)]
        query = query.where(or_(*conditions))
    return list((await session.scalars(query)).unique().all())


@dataclass(frozen=True)
class ProjectFigures:
    """Year-to-date money and the latest report of a project."""

    ytd_done: Decimal
    all_reported: Decimal
    last_report: Report | NewReport | None
    photo_count: int | None  # None when not read (see get_report_target)
    as_of: date | None = None  # the day they were computed for (its year decides what "this year" is)
    plan: Decimal | None = None  # the annual plan of that year (storage.annual_plans); None: none
    base: Decimal = Decimal(0)  # the ledger base of that year in ytd_done (storage.ledger_bases); 0: none
    covered_until: date | None = None  # the last day whose reports that base counts; None: it covers none
    backfilled: bool = False  # a live 补报 of the 项目办's is among its reports (never its last_report)


def _base_of_year(project_id: Any, column: str) -> Any:
    """A column of the project's ledger base of the ``year`` parameter (storage.ledger_bases): ``done_before``
    (NULL: none) or ``baseline_date``, the last day whose reports it counts (see bot.domain.year_to_date)."""
    baseline = aliased(Project)
    base = base_join(baseline, bindparam("year", type_=Integer))
    return (
        select(getattr(base, column))
        .select_from(baseline)
        .outerjoin(base.table, base.on)
        .where(baseline.id == project_id)
        .scalar_subquery()
    )


_AS_OF = bindparam("as_of", type_=Report.local_day.type)


def _figures_columns(project_id: Any, year_start: Any) -> Select[Any]:
    """One row for all of `ProjectFigures` but the report itself: the year's sum up to the ``as_of`` day (a
    past year's figures leave the next year's reports out) of the reports the baseline does not cover, the
    sum of every report, the sum the baseline covers, the photo count, the id of the latest live report of its
    liaison's and whether a live 补报 is among its reports (1, else 0)."""
    with_photo, latest = aliased(Report), aliased(Report)
    covered = _base_of_year(project_id, "baseline_date")
    photos = (
        select(func.count(ReportPhoto.id))
        .join(with_photo, with_photo.id == ReportPhoto.report_id)
        .where(with_photo.project_id == project_id, with_photo.withdrawn_at.is_(None))
        .scalar_subquery()
    )
    latest_id = (
        select(latest.id)
        .where(latest.project_id == project_id, reported_by_liaison(latest))  # 最近填报: a 补报 is not one
        .order_by(latest.created_at.desc(), latest.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    planned = aliased(Project)
    plan = select(plan_of_year(planned, bindparam("year", type_=Integer))).where(planned.id == project_id) \
        .scalar_subquery()
    return select(
        plan.label("plan"),
        func.coalesce(func.sum(case(
            (and_(Report.local_day >= year_start, Report.local_day <= _AS_OF,
                  or_(covered.is_(None), Report.local_day > covered)),
             Report.amount))), 0).label("this_year"),
        func.coalesce(func.sum(Report.amount), 0).label("everything"),
        func.coalesce(func.sum(case((and_(Report.local_day >= year_start, Report.local_day <= covered),
                                     Report.amount))), 0).label("covered"),
        photos.label("photos"),
        latest_id.label("latest_id"),
        _base_of_year(project_id, "done_before").label("base"),
        covered.label("covered_until"),
        func.max(case((Report.backfill == true(), 1), else_=0)).label("backfilled"),
    ).where(Report.project_id == project_id, Report.withdrawn_at.is_(None))


_YEAR_START = bindparam("year_start", type_=Report.local_day.type)

# The figures of one project, and the latest report outer-joined (the aggregate always gives one row).
_FIGURES = _figures_columns(bindparam("project_id"), _YEAR_START).subquery("figures")
_FIGURES_QUERY = (
    select(_FIGURES.c.plan, _FIGURES.c.this_year, _FIGURES.c.everything, _FIGURES.c.covered, _FIGURES.c.photos,
           _FIGURES.c.base, _FIGURES.c.covered_until, _FIGURES.c.backfilled, Report)
    .select_from(_FIGURES)
    .outerjoin(Report, Report.id == _FIGURES.c.latest_id)
    .options(raiseload(Report.photos))  # the card shows the latest report's text, not its photos
)

# The card's project and its figures in one statement: the figures subquery finds the project by code
# itself, so it is computed once, not once per joined row (supporting units).
_BY_CODE = aliased(Project)
_CODE_FIGURES = _figures_columns(
    select(_BY_CODE.id).where(_BY_CODE.code == bindparam("code")).scalar_subquery(), _YEAR_START
).subquery("figures")
_CARD_AND_FIGURES_QUERY = (
    _CARD_QUERY.add_columns(_CODE_FIGURES.c.plan, _CODE_FIGURES.c.this_year, _CODE_FIGURES.c.everything,
                            _CODE_FIGURES.c.covered, _CODE_FIGURES.c.photos, _CODE_FIGURES.c.base,
                            _CODE_FIGURES.c.covered_until, _CODE_FIGURES.c.backfilled, Report)
    .select_from(Project)
    .join(_CODE_FIGURES, true())
    .outerjoin(Report, Report.id == _CODE_FIGURES.c.latest_id)
    .options(raiseload(Report.photos))
)


def _figures(today: date, this_year: Any, everything: Any, covered: Any, photos: Any, base: Any,
             covered_until: date | None, backfilled: Any, last: Report | None, plan: Any) -> ProjectFigures:
    """Year-to-date = the ledger base of today's year + this year's reports it does not cover
    (bot.domain.year_to_date); `all_reported` leaves out the reports that base covers (they are in it already)."""
    return ProjectFigures(
        ytd_done=Decimal(base or 0) + Decimal(this_year or 0),
        all_reported=Decimal(everything or 0) - Decimal(covered or 0), last_report=last,
        photo_count=int(photos or 0), as_of=today, plan=None if plan is None else Decimal(plan),
        base=Decimal(base or 0), covered_until=covered_until, backfilled=bool(backfilled),
    )


async def project_figures(session: AsyncSession, *, project: Project, today: date) -> ProjectFigures:
    """The figures of a project for `today`, in one SELECT.

    `last_report` comes without its photos (reading `.photos` raises, unless the report was already in the
    session with them).
    """
    row = (await session.execute(
        _FIGURES_QUERY, {"project_id": project.id, "year_start": date(today.year, 1, 1), "as_of": today,
                         "year": today.year}
    )).one()
    plan, this_year, everything, covered, photos, base, covered_until, backfilled, last = row
    return _figures(today, this_year, everything, covered, photos, base, covered_until, backfilled, last, plan)


async def get_project_and_figures(
    session: AsyncSession, *, code: str, today: date
) -> tuple[Project, ProjectFigures] | None:
    """`get_project_for_card` and `project_figures` in one SELECT (same caveats as both)."""
    result = await session.execute(_CARD_AND_FIGURES_QUERY,
                                   {"code": code_key(code), "year_start": date(today.year, 1, 1),
                                    "as_of": today, "year": today.year})
    rows = result.unique().all()  # every row: supporting units come one per row
    if not rows:
        return None
    project, plan, this_year, everything, covered, photos, base, covered_until, backfilled, last = rows[0]
    return project, _figures(today, this_year, everything, covered, photos, base, covered_until, backfilled, last,
                             plan)


@dataclass(frozen=True)
class ReportTarget:
    """What storing a report needs of its project: whose it is, the money to check against and what the
    report's card shows. Plain values (see `get_report_target`)."""

    id: int
    code: str
    name: str
    stage: str
    annual_plan: Decimal | None  # the plan of the report's year (storage.annual_plans); None: none
    total_investment: Decimal
    done_before: Decimal
    baseline_year: int
    baseline_date: date | None
    planned_finish: date | None
    liaison_id: int | None
    today_report_id: int | None  # the project's report that counts for the day asked about, if any


def _target_query() -> Select[Any]:
    """The project by code with the two sums of its live reports (this year's and all), in one SELECT,
    from the running sums per year (storage.report_sums): a few rows, however long the project's history;
    and the sum of this year's reports its baseline covers (a range of the report index)."""
    projects, by_code, sums = Project.__table__.c, Project.__table__.alias("by_code"), ReportSum.__table__.c
    reports = Report.__table__.c
    project_id = select(by_code.c.id).where(by_code.c.code == bindparam("code")).scalar_subquery()
    figures = (
        select(
            func.coalesce(func.sum(case((sums.year >= bindparam("year", type_=Integer), sums.amount))), 0)
            .label("this_year"),
            func.coalesce(func.sum(sums.amount), 0).label("everything"),
        )
        .where(sums.project_id == project_id)
        .subquery("figures")
    )
    base = base_join(projects, bindparam("year", type_=Integer))  # the ledger base of the year
    covered_until = base.baseline_date
    covered = (
        select(func.coalesce(func.sum(reports.amount), 0))
        .where(reports.project_id == projects.id, reports.withdrawn_at.is_(None),
               reports.local_day >= bindparam("year_start", type_=Report.local_day.type),
               reports.local_day <= covered_until)
        .scalar_subquery()
    )
    today_report = (
        select(reports.id)
        .where(reports.project_id == projects.id, reports.local_day == bindparam("day", type_=Report.local_day.type),
               reports.withdrawn_at.is_(None))
        .order_by(reports.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(projects.id, projects.code, projects.name, projects.stage,
               plan_of_year(projects, bindparam("year", type_=Integer)).label("annual_plan"),
               projects.total_investment, projects.done_before, projects.baseline_year, projects.baseline_date,
               projects.planned_finish, projects.liaison_id, today_report, figures.c.this_year, figures.c.everything,
               covered.label("covered"), base.done_before.label("base"), covered_until.label("covered_until"))
        .select_from(Project.__table__.join(figures, true()).outerjoin(base.table, base.on))
        .where(projects.code == bindparam("code"))
    )


_TARGET = _target_query()


async def get_report_target(
    session: AsyncSession, *, code: str, today: date
) -> tuple[ReportTarget, ProjectFigures] | None:
    """The project a report is for, with its figures for `today` and whether it has a report today already,
    in one Core SELECT (no ORM objects). The figures leave out the latest report and the photo count (both
    None: the report's card shows neither)."""
    params = {"code": code_key(code), "year": today.year, "year_start": date(today.year, 1, 1),
              "day": today}
    found = (await session.execute(_TARGET, params)).first()
    if found is None:
        return None
    *columns, this_year, everything, covered, base, covered_until = found
    target = ReportTarget(*columns)
    figures = _figures(today, Decimal(this_year or 0) - Decimal(covered or 0), everything, covered, None, base,
                       covered_until, False, None, target.annual_plan)
    return target, replace(figures, photo_count=None)


_WAN = Wan()


def as_stored(amount: Decimal) -> Decimal:
    """An amount as it reads back from the database (whole 元, in 万元)."""
    stored = _WAN.process_result_value(_WAN.process_bind_param(amount, None), None)
    assert stored is not None
    return stored


def figures_with_report(
    figures: ProjectFigures, project: Project | ReportTarget, report: Report | NewReport, *, photo_count: int
) -> ProjectFigures:
    """`figures` (as `project_figures` gave them, in this transaction) updated for a report just added with
    `photo_count` photos, without reading them again: equal to what `project_figures` would now return for
    the same day, or for any day of the same year."""
    if figures.as_of is None:
        raise ValueError("figures_with_report needs figures from project_figures")
    today = figures.as_of
    baseline = figures.base
    amount = as_stored(report.amount)
    this_year = figures.ytd_done - baseline
    if counts(report.local_day, baseline_year=today.year, baseline_date=figures.covered_until,
              day=max(today, report.local_day)):
        this_year += amount
    everything = figures.all_reported + amount
    last = figures.last_report
    # Latest by (created_at, id); the new report's id is the highest, so it wins a tie.
    if last is None or report.created_at >= last.created_at:
        last = report
    return ProjectFigures(
        ytd_done=baseline + (this_year or Decimal(0)), all_reported=everything or Decimal(0),
        last_report=last, as_of=today, plan=figures.plan, base=baseline, covered_until=figures.covered_until,
        backfilled=figures.backfilled,
        photo_count=None if figures.photo_count is None else figures.photo_count + photo_count,
    )


def remaining_investment(project: Project | ReportTarget, all_reported: Decimal) -> Decimal:
    """What is left of the total investment after the ledger's baseline and every report it does not cover
    (`all_reported` of `ProjectFigures`)."""
    return project.total_investment - project.done_before - all_reported
