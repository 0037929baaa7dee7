"""Settings of the scheduled digests (times, switches, thresholds, weights), stored as one JSON setting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import time
from typing import Any

from bot.domain.progress import LightThresholds
from bot.domain.ranking import ScoreWeights

DIGEST_KEY = "digests"


@dataclass(frozen=True)
class DigestSettings:
    """What the scheduled jobs do and when (Asia/Shanghai); admins change it without a code change."""

    reminders_enabled: bool = True
    reminder_times: tuple[time, ...] = (time(16, 0), time(18, 0))
    missed_days_alert: int = 2
    weekly_enabled: bool = True
    weekly_time: time = time(9, 0)
    monthly_enabled: bool = True
    monthly_time: time = time(9, 0)
    praise_n: int = 3
    # A group bulletin (and the top officials' summary) fits one message: the first and last ``bulletin_top_n``
    # of each ranking and at most ``bulletin_red_max`` red projects; the rest is in the chart and the xlsx.
    bulletin_top_n: int = 5
    bulletin_red_max: int = 10
    thresholds: LightThresholds = field(default_factory=LightThresholds)
    weights: ScoreWeights = field(default_factory=ScoreWeights)

    def __post_init__(self) -> None:
        if not self.reminder_times or self.missed_days_alert < 1 or self.praise_n < 1:
            raise ValueError("need at least one reminder time, an alert after ≥1 day and praise_n ≥ 1")
        if self.bulletin_top_n < 1 or self.bulletin_red_max < 0:
            raise ValueError("need bulletin_top_n ≥ 1 and bulletin_red_max ≥ 0")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reminder_times"] = [t.strftime("%H:%M") for t in self.reminder_times]
        data["weekly_time"] = self.weekly_time.strftime("%H:%M")
        data["monthly_time"] = self.monthly_time.strftime("%H:%M")
        data["thresholds"]["late_year_cutoff"] = list(self.thresholds.late_year_cutoff)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DigestSettings:
        base = cls()
        if not data:
            return base
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        if "reminder_times" in values:
            values["reminder_times"] = tuple(time.fromisoformat(t) for t in values["reminder_times"])
        for key in ("weekly_time", "monthly_time"):
            if key in values:
                values[key] = time.fromisoformat(values[key])
        if "thresholds" in values:
            t = dict(values["thresholds"])
            if "late_year_cutoff" in t:
                t["late_year_cutoff"] = tuple(t["late_year_cutoff"])
            values["thresholds"] = LightThresholds(**t)
        if "weights" in values:  # weights stored before node punctuality was scored give it none
            values["weights"] = ScoreWeights(**{"nodes": 0.0, **values["weights"]})
        return replace(base, **values)
