"""The project as it was at an instant, picked from its versions (bot.domain.project_versions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.project_versions import Held, Versions

SINCE = datetime(2026, 10, 31, 16, tzinfo=UTC)  # the end of 31 October in Shanghai
CREATED, HANDED, RENAMED = (datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC),
                            datetime(2026, 11, 20, tzinfo=UTC))
ROADS = Held("项目A", "河西镇", 1, "区交通局", 10, "王建国", 20, "乙")
HOUSING = ROADS._replace(lead_unit_id=2, lead_unit="区住建局", lead_official_id=11, lead_official="刘文华")
RENAMED_HOUSING = HOUSING._replace(name="城北污水处理厂")


def _versions() -> Versions:
    return Versions(SINCE, {
        1: [(CREATED, ROADS), (HANDED, HOUSING), (RENAMED, RENAMED_HOUSING)],
        2: [(datetime(2026, 11, 10, tzinfo=UTC), ROADS)],  # added after the period
    })


def test_each_project_reads_as_its_last_version_by_the_instant() -> None:
    versions = _versions()
    assert versions.at(SINCE) == {1: ROADS}
    assert versions.at(HANDED) == {1: HOUSING}  # valid from its instant on
    # added since the period: none then (a past period leaves it out anyway); at its last version, as it stands
    assert 2 not in versions.at(SINCE) and versions.at(datetime(2026, 11, 15, tzinfo=UTC)) == {1: HOUSING}


def test_a_project_unchanged_since_the_instant_reads_as_it_stands() -> None:
    assert _versions().at(RENAMED) == {}
    assert _versions().at(datetime(2026, 12, 1, tzinfo=UTC)) == {}


def test_an_instant_before_the_versions_read_is_refused() -> None:
    with pytest.raises(ValueError, match="versions read from"):
        _versions().at(CREATED)
