"""What the ledger said of a project at an instant (its name, town, lead unit, 包抓领导, liaison), and what its
people were called then, picked from dated versions (``storage.project_versions`` and ``storage.person_names`` keep
and read them): the one rule (``in_force``) by which a past period's figures name and count each project as it was
held, and each person as he was named, at the period's end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeVar

__all__ = ["Held", "Versions", "in_force"]

_T = TypeVar("_T")


def in_force(versions: Sequence[tuple[datetime, _T]], instant: datetime) -> _T | None:
    """The version in force at ``instant`` of ``versions`` (valid from, version), oldest first: the last valid
    from before ``instant``; None up to the first. ``instant`` is a period's end (``day_start`` of the day after
    its cut-off), the first instant the period no longer holds: a version written then is the next period's, as
    a problem raised then is (``bot.domain.period_problems``)."""
    held = [version for valid_from, version in versions if valid_from < instant]
    return held[-1] if held else None


class Held(NamedTuple):
    """A project as one of its versions has it, with its unit's and people's names (as they are now, until
    ``Versions.at`` names the people as they were then)."""

    name: str
    location: str | None
    lead_unit_id: int
    lead_unit: str
    lead_official_id: int | None
    lead_official: str | None
    liaison_id: int | None
    liaison: str | None


@dataclass(frozen=True)
class Versions:
    """Every version of the projects changed after ``since`` or held by a person renamed after it (project id →
    (valid from, version), oldest first), and every name of the people renamed after ``since`` (person id →
    (valid from, name), oldest first): enough to read every project and name at any instant from ``since`` on.
    A project or person not here has not changed since: it reads as it stands."""

    since: datetime
    of_projects: Mapping[int, Sequence[tuple[datetime, Held]]]
    person_names: Mapping[int, Sequence[tuple[datetime, str]]] = field(default_factory=dict)

    def _check(self, instant: datetime) -> None:
        if instant < self.since:
            raise ValueError(f"versions read from {self.since}, not from {instant}")

    def names_at(self, instant: datetime) -> dict[int, str]:
        """Person id → his name at ``instant``, for the people renamed from it on (the others are named as now)."""
        self._check(instant)
        then: dict[int, str] = {}
        for person_id, names in self.person_names.items():
            name = in_force(names, instant) if names[-1][0] >= instant else None
            if name is not None:
                then[person_id] = name
        return then

    def at(self, instant: datetime) -> dict[int, Held]:
        """Project id → the project as it was at ``instant``, its people named as they were then, for those
        changed after it or held then by someone renamed since; a project added after ``instant`` (no version by
        then) is absent, as is one unchanged since."""
        names = self.names_at(instant)
        then: dict[int, Held] = {}
        for project_id, versions in self.of_projects.items():
            held = in_force(versions, instant)
            if held is None:
                continue
            renamed = held.lead_official_id in names or held.liaison_id in names
            if versions[-1][0] < instant and not renamed:
                continue  # unchanged since: its last version is the project as it stands
            then[project_id] = (
                held
                if not renamed
                else held._replace(
                    lead_official=_named(held.lead_official_id, held.lead_official, names),
                    liaison=_named(held.liaison_id, held.liaison, names),
                )
            )
        return then


def _named(person_id: int | None, name: str | None, names: Mapping[int, str]) -> str | None:
    """The name of ``person_id`` in ``names`` when there, else ``name``."""
    return names.get(person_id, name) if person_id is not None else name
