"""What the ledger said of a project at an instant (its name, town, lead unit, 包抓领导, liaison), picked from
its dated versions (``storage.project_versions`` keeps and reads them): the one rule by which a past period's
figures name and count each project as it was held at the period's end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

__all__ = ["Held", "Versions"]


class Held(NamedTuple):
    """A project as one of its versions has it, with its unit's and people's names as they are now."""

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
    """Every version of the projects changed after ``since`` (project id → (valid from, version), oldest first):
    enough to read every project at any instant from ``since`` on. A project not here has not changed since:
    it reads as it stands."""

    since: datetime
    of_projects: Mapping[int, Sequence[tuple[datetime, Held]]]

    def at(self, instant: datetime) -> dict[int, Held]:
        """Project id → the project as it was at ``instant``, for those changed after it; a project added after
        ``instant`` (no version by then) is absent, as is one unchanged since."""
        if instant < self.since:
            raise ValueError(f"versions read from {self.since}, not from {instant}")
        then: dict[int, Held] = {}
        for project_id, versions in self.of_projects.items():
            if versions[-1][0] <= instant:
                continue  # unchanged since: its last version is the project as it stands
            held = [version for valid_from, version in versions if valid_from <= instant]
            if held:
                then[project_id] = held[-1]
        return then
