"""Whether a ledger import must wait for the annual bulletin of the year whose ledger base it takes away."""

from datetime import date
from decimal import Decimal

from bot.domain.ledger_plan import FieldChange, ImportPlan, KnownProject, LedgerState, RowChange
from bot.domain.year_close import bases_leaving, waits_for_annual


def _state(**bases: int) -> LedgerState:
    state = LedgerState()
    for number, (code, base) in enumerate(bases.items()):
        state.projects[code] = KnownProject(number, code, {"done_before": Decimal(base)}, ())
    return state


def _moved(code: str, before: int, after: int) -> RowChange:
    return RowChange("project", "update", code, code, (FieldChange("done_before", None, Decimal(0)),
                                                       FieldChange("baseline_year", before, after)))


def test_only_bases_moved_to_a_later_year_are_leaving() -> None:
    plan = ImportPlan(as_of=date(2027, 1, 7), as_of_source="file", changes=[
        _moved("A", 2026, 2027), _moved("B", 2026, 2027), _moved("C", 2026, 2027),  # C's base is 0
        _moved("D", 2027, 2027),  # dated anew in the same year
        RowChange("project", "update", "E", "E", (FieldChange("name", "旧", "新"),)),
        RowChange("project", "add", "F", "F", (FieldChange("baseline_year", None, 2027),)),
    ])
    assert bases_leaving(plan, _state(A=26051, B=1650, C=0, D=500, E=900)) == {2026: Decimal(27701)}


def test_the_import_waits_only_until_the_annual_bulletin_is_out_or_its_day_has_passed() -> None:
    due = date(2027, 1, 4)
    assert waits_for_annual(today=date(2027, 1, 1), due=due, sent=False, enabled=True)
    assert waits_for_annual(today=due, due=due, sent=False, enabled=True)  # before the 09:00 tick
    assert not waits_for_annual(today=due, due=due, sent=True, enabled=True)
    assert not waits_for_annual(today=date(2027, 1, 5), due=due, sent=False, enabled=True)  # missed: no wait
    assert not waits_for_annual(today=date(2027, 1, 1), due=due, sent=False, enabled=False)  # annual off
