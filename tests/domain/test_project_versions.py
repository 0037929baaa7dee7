"""The project as it was at an instant, picked from its versions (bot.domain.project_versions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.project_versions import Held, Versions, in_force

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
    # an instant is a period's end, the first it no longer holds: a version written then is the next period's
    assert versions.at(HANDED) == {1: ROADS}
    assert versions.at(HANDED + timedelta(seconds=1)) == {1: HOUSING}
    # added since the period: none then (a past period leaves it out anyway); at its last version, as it stands
    assert 2 not in versions.at(SINCE) and versions.at(datetime(2026, 11, 15, tzinfo=UTC)) == {1: HOUSING}


def test_a_project_unchanged_since_the_instant_reads_as_it_stands() -> None:
    assert _versions().at(RENAMED) == {1: HOUSING}  # renamed at the instant: not yet in force
    assert _versions().at(RENAMED + timedelta(seconds=1)) == {}
    assert _versions().at(datetime(2026, 12, 1, tzinfo=UTC)) == {}


def test_an_instant_before_the_versions_read_is_refused() -> None:
    with pytest.raises(ValueError, match="versions read from"):
        _versions().at(CREATED)


def test_a_person_renamed_since_is_named_as_then_in_every_project_he_held() -> None:
    """乙 (liaison 20) renamed 乙某 on 10 November: a project unchanged since reads with 乙 before that, as it
    stands after; 王建国 (10), renamed after project 1 left him, names its version of then."""
    names = {20: [(CREATED, "乙"), (datetime(2026, 11, 10, tzinfo=UTC), "乙某")],
             10: [(CREATED, "王建国"), (datetime(2026, 11, 25, tzinfo=UTC), "王建军")]}
    versions = Versions(SINCE, {1: [(CREATED, ROADS._replace(lead_official="王建军", liaison="乙某")),
                                    (HANDED, HOUSING._replace(liaison="乙某"))],
                                3: [(CREATED, ROADS._replace(lead_official="王建军", liaison="乙某"))]}, names)
    assert versions.at(SINCE) == {1: ROADS, 3: ROADS}
    assert versions.at(datetime(2026, 11, 15, tzinfo=UTC)) == {3: ROADS._replace(liaison="乙某")}
    assert versions.at(datetime(2026, 11, 26, tzinfo=UTC)) == {}
    assert versions.names_at(SINCE) == {20: "乙", 10: "王建国"}
    assert versions.names_at(datetime(2026, 11, 15, tzinfo=UTC)) == {10: "王建国"}


def test_in_force_is_the_last_version_by_the_instant() -> None:
    history = [(CREATED, "a"), (HANDED, "b")]
    assert in_force(history, CREATED - (HANDED - CREATED)) is None
    assert in_force(history, CREATED) is None and in_force(history, HANDED) == "a"
    assert in_force(history, HANDED + timedelta(seconds=1)) == "b"
