"""Who a ledger's rows mean, as an import would leave them: its units by name, and the people of its roster
and of its project rows matched with the people stored (by phone, 人员编号, 职务 or unit, name and role).

One part of planning an import, pure: bot.domain.ledger_diff makes the plan and states the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.domain.ledger_plan import FILE, KEEP, Conflict, FieldChange, ImportPlan, KnownPerson, LedgerState, RowChange
from bot.domain.ledger_rows import Ledger, PersonRow

__all__ = ["PeopleMatcher"]


class PeopleMatcher:
    """The units and people of one import's plan: new ones added to ``result``, changed ones recorded, the
    conflicts with the chat given to ``conflict`` (which answers the admin's choice)."""

    def __init__(self, state: LedgerState, result: ImportPlan, conflict: Callable[[Conflict], str | None]) -> None:
        self.state, self.result, self.conflict = state, result, conflict
        self.people = [replace(p, roles=set(p.roles)) for p in state.people]  # as the import leaves them
        self.original = {id(now): before for now, before in zip(self.people, state.people, strict=True)}
        self.by_phone = {p.phone: p for p in self.people if p.phone}
        self.by_name: dict[str, list[KnownPerson]] = {}
        for person in self.people:
            self.by_name.setdefault(person.name, []).append(person)
        self.units = dict(state.units)
        self.names = {p.id: p.name for p in state.people}  # stored people by id, as they were
        self.named: set[int] = set()  # ids of stored people the file names
        self.touched: dict[int, KnownPerson] = {}  # stored people changed, by id
        self.roster: set[int] = set()  # python ids of people seen as roster rows
        # PersonRow.identity → the person of a roster row: a person with several roles has a row for each
        self.roster_people: dict[tuple[str, str, str], KnownPerson] = {}
        self.stopped: set[int] = set()  # python ids of people the roster marks 停用
        self.said_active: set[int] = set()  # python ids of people the roster marks 在用
        self.statuses: dict[tuple[str, str, str], bool] = {}
        # python id of a person → the 人员编号 identity of the roster rows that are his: namesakes numbered apart
        # never join one another
        self.numbered: dict[int, tuple[str, str, str]] = {}
        # (project code, role) → the identity of the roster row whose 负责项目 names it: which of two namesakes
        # without a phone a project row means
        self.posts: dict[tuple[str, str], tuple[str, str, str]] = {}

    def read_roster(self, ledger: Ledger) -> None:
        """Match the roster's rows (before the project rows, which may name the same people)."""
        # what the rows of each person (name, phone) say of 状态, whichever of them says it
        self.statuses = {row.identity: row.active for row in ledger.people
                         if row.active is not None and row.identity}
        for row in ledger.people:
            identity = row.identity
            if identity is not None:
                for code in row.projects:
                    self.posts.setdefault((code, row.role), identity)
        for row in ledger.people:
            self._person_row(row)

    def stopped_named(self, name: str) -> list[KnownPerson]:
        """The stored people of this name that the roster marks 停用."""
        return [p for p in self.by_name.get(name, []) if id(p) in self.stopped and p.id]

    def list_absent(self) -> None:
        """The active people stored (other than admins) that the roster does not name: listed, kept."""
        for person in self.state.people:
            if person.active and person.id not in self.named and person.roles - {"admin"}:
                self.conflict(Conflict(f"absent_person:{person.id}", "absent_person", person.name, choice=None))

    def unit(self, name: str) -> int | str:
        if name not in self.units:
            self.units[name] = name  # new: known by name until written
            self.result.new_units.append(name)
            self.result.added["unit"] += 1
            self.result.changes.append(RowChange("unit", "add", name, name))
        return self.units[name]

    def _find(self, name: str, phone: str | None, role: str, title: str | None,
              unit: int | str | None, identity: tuple[str, str, str] | None = None) -> KnownPerson | None:
        if phone and phone in self.by_phone:
            return self.by_phone[phone]
        numbered = identity if identity and identity[1] == "key" else None
        if numbered:  # the 人员编号 the export writes is the stored person's own
            namesakes = self.by_name.get(name, [])
            # A number typed for a namesake wins over an internal id that happens to equal it (offices number
            # people 1..N, and internal ids are small integers too).
            typed = [p for p in namesakes if p.key == numbered[2]]
            for person in typed or [p for p in namesakes if _numbered(p, numbered[2])]:
                if self._free(person, numbered):
                    return person
        same_role = [p for p in self.by_name.get(name, []) if role in p.roles and not (phone and p.phone)
                     and (not numbered or (self._free(p, numbered) and p.key in (None, numbered[2])))]
        for person in same_role:
            if (title and person.title == title) or (unit and person.unit_id == unit):
                return person
        return same_role[0] if len(same_role) == 1 else None

    def _free(self, person: KnownPerson, numbered: tuple[str, str, str]) -> bool:
        """Whether ``person`` may be the rows of this 人员编号: no rows of another number are his already."""
        return self.numbered.get(id(person), numbered) == numbered

    def person(self, *, name: str, role: str, phone: str | None, title: str | None, unit_name: str | None,
                roster_row: bool = False, active: bool | None = None, key: str | None = None,
                post: str | None = None) -> KnownPerson | None:
        """The person the file means, as the import leaves them; None when a deactivated person is named
        (by a project row) and kept deactivated. ``active``: what a roster row's 状态 says (None: nothing);
        ``post``: the code of the project whose row names him (without a phone, the roster row whose 负责项目
        names it says which namesake he is)."""
        unit = self.unit(unit_name) if unit_name else None
        # Rows join by phone, or without one by 人员编号 or a leader's 职务: else a namesake is another person.
        identity = PersonRow(0, name, role, unit_name, title, phone, (), key=key).identity if roster_row else None
        if post is not None and not phone:
            posted = self.posts.get((post, role))
            identity = posted if posted and posted[0] == name else None
        person = self.roster_people.get(identity) if identity else None
        person = person or self._find(name, phone, role, title, unit, identity)
        if person is not None and identity:
            self.roster_people[identity] = person
            if identity[1] == "key":
                self.numbered.setdefault(id(person), identity)
        if person is not None and active is not None:
            (self.said_active if active else self.stopped).add(id(person))
        if person is None:
            person = KnownPerson(None, name, phone, title, unit, active is not False, {role},
                                 ref=len(self.result.new_people), key=key)
            if active is not None:
                (self.said_active if active else self.stopped).add(id(person))
            self.result.new_people.append(person)
            self.people.append(person)
            if phone:
                self.by_phone[phone] = person
            self.by_name.setdefault(name, []).append(person)
            self.result.added["person"] += 1
            self.result.changes.append(RowChange("person", "add", name, name, person=person))
            if roster_row:
                self.roster.add(id(person))
                if identity:
                    self.roster_people[identity] = person
                    if identity[1] == "key":
                        self.numbered[id(person)] = identity
            return person
        if person.id is None:  # new in this import: the role, and the title or unit of another role's row
            person.roles.add(role)
            person.title = person.title or title
            person.unit_id = person.unit_id or unit
            person.key = person.key or key
            person.active = person.active and id(person) not in self.stopped
            return person
        self.named.add(person.id)
        if person.active and id(person) in self.stopped:  # deactivating is /deactivate's (it lists the handover)
            self.conflict(Conflict(f"stop_marked:{person.id}", "stop_marked", person.name, choice=None))
        if not person.active and id(person) in self.stopped:  # the file agrees: stays so, in no new post
            if not roster_row:
                return None
        elif not person.active:
            # Brought back only by a roster row that says 在用, and then as the admin chooses.
            offered = KEEP if id(person) in self.said_active else None
            choice = self.conflict(Conflict(f"deactivated:{person.id}", "deactivated", person.name, choice=offered))
            if choice != FILE:
                return None
            person.active = True
        typed = key if key is not None and not _numbered(person, key) else None  # not what the export wrote
        wanted = {"name": name, "phone": phone, "title": title, "unit_id": unit, "key": typed}
        for attribute, value in wanted.items():
            if value is not None and getattr(person, attribute) != value:
                setattr(person, attribute, value)
                if attribute == "phone":
                    self.by_phone[value] = person
        if role not in person.roles:
            person.roles.add(role)
            self.result.new_roles.append((person, role))
        before = self.original[id(person)]
        unit_names = {v: k for k, v in self.units.items()}
        fields = tuple(FieldChange(k, getattr(before, k), getattr(person, k))
                       for k in ("name", "phone", "title", "active", "key") if getattr(before, k) != getattr(person, k))
        if before.unit_id != person.unit_id:
            fields += (FieldChange("unit", unit_names.get(before.unit_id), unit_names.get(person.unit_id)),)
        fields += tuple(FieldChange("role", None, r) for r in sorted(person.roles - before.roles))
        first_time = person.id not in self.touched and id(person) not in self.roster
        if fields:
            self.touched[person.id] = person
            self._person_change(person, fields)
        elif roster_row and first_time:
            self.result.unchanged["person"] += 1
        if roster_row:
            self.roster.add(id(person))
        return person

    def _person_change(self, person: KnownPerson, fields: tuple[FieldChange, ...]) -> None:
        """One change line per person, with every field changed so far (a person may be named twice)."""
        key = str(person.id)
        changes = self.result.changes
        for index, change in enumerate(changes):
            if change.kind == "person" and change.key == key:
                changes[index] = RowChange("person", "update", key, person.name, fields)
                return
        if id(person) in self.roster:  # counted unchanged as a roster row, changed since by a project row
            self.result.unchanged["person"] -= 1
        self.result.changed["person"] += 1
        changes.append(RowChange("person", "update", key, person.name, fields))

    def _person_row(self, row: PersonRow) -> None:
        self.person(name=row.name, role=row.role, phone=row.phone, title=row.title, unit_name=row.unit,
                     roster_row=True, key=row.key,
                     active=self.statuses.get(row.identity, row.active) if row.identity else row.active)


def _numbered(person: KnownPerson, number: str) -> bool:
    """Whether a row's 人员编号 is this person's: the one typed for him, or (none typed) the internal id that the
    export writes for a person without a phone."""
    if person.key is not None:
        return person.key == number
    return person.id is not None and not person.phone and str(person.id) == number
