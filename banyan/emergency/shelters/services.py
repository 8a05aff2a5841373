"""Shelters and supplies: every state change, with its authorisation and audit, and what the pages,
the emergency board and the drill read.

Who may do what (on top of seeing the community's emergencies, ``VIEW_EMERGENCIES``):

- open and close shelters, add stock, receive, reserve, return and count supplies: those who manage
  emergencies (``MANAGE_EMERGENCIES``: the director, the street office, administrators);
- check residents in and out, and distribute supplies to households: those who respond on the ground
  as well (``HANDLE_INCIDENTS``: also grid workers, property staff and volunteers) — auditors only read.

Capacity is a hard limit: a check-in beyond it is refused, naming the shelter and its capacity (and the
open shelters nearby with room are on the page). Occupancy and quantities change only by conditional
UPDATEs (``occupied < capacity``, ``quantity - reserved >= n``), so two people at two desks can never
take the last place twice, nor a stock below zero, on SQLite or PostgreSQL.

Residents are found within the caller's scope (``Resident.objects.restrict``): by name, or by ID number
through the vault's blind index; names of residents outside it are masked on every list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import EmergencyStatus, TimelineKind
from banyan.emergency.models import Emergency, TimelineEntry
from banyan.emergency.shelters.choices import SHELTER_FACILITY_KINDS, MoveKind, SupplyKind, SupplyUnit
from banyan.emergency.shelters.models import Move, Shelter, Stay, Stock
from banyan.notify.services import notify
from banyan.people.models import Actor, Household, Resident, User
from banyan.people.services import clean_id_number
from banyan.places.choices import FacilityKind, RegionKind
from banyan.places.models import Facility, Region

SEARCH_MAX = 20
QUANTITY_MAX = 1_000_000
NOTE_MAX = 200
NOTES_MAX = 500

# --- who may ----------------------------------------------------------------------------------------


def may_view(user) -> bool:
    return can(user, Action.VIEW_EMERGENCIES)


def may_manage(user) -> bool:
    return can(user, Action.MANAGE_EMERGENCIES)


def may_operate(user) -> bool:
    """Check residents in and out, hand out supplies: staff and volunteers who respond on the ground."""
    return can(user, Action.VIEW_EMERGENCIES) and can(user, Action.HANDLE_INCIDENTS)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# --- access functions (missing and out of scope both answer 404) -----------------------------------


def get_shelter_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Shelter:
    shelter = (
        Shelter.objects.restrict(user, action)
        .select_related("facility", "community", "opened_for")
        .filter(pk=pk)
        .first()
    )
    if shelter is None:
        raise NotFound(_("Shelter not found."))
    return shelter


def get_stay_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Stay:
    stay = (
        Stay.objects.restrict(user, action)
        .select_related("shelter__facility", "resident", "household")
        .filter(pk=pk)
        .first()
    )
    if stay is None:
        raise NotFound(_("Stay not found."))
    return stay


def get_stock_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Stock:
    stock = Stock.objects.restrict(user, action).select_related("place", "community").filter(pk=pk).first()
    if stock is None:
        raise NotFound(_("Stock not found."))
    return stock


def get_emergency_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Emergency:
    emergency = Emergency.objects.restrict(user, action).filter(pk=pk).first()
    if emergency is None:
        raise NotFound(_("Emergency not found."))
    return emergency


def open_emergencies(user: Actor, community: Region, action: Action = Action.VIEW_EMERGENCIES):
    """The community's active emergencies (a shelter opens for one, supplies are reserved and handed out
    for one), newest first."""
    return (
        Emergency.objects.restrict(user, action)
        .filter(community=community, status=EmergencyStatus.ACTIVE)
        .order_by("-activated_at", "-id")
    )


def not_active() -> str:
    return _("Choose an active emergency of this community.")


def community_of(region: Region) -> Region:
    """The community a region lies in (itself, or the community above a grid)."""
    if region.kind == RegionKind.COMMUNITY:
        return region
    community = Region.objects.filter(path__in=region.ancestor_paths(), kind=RegionKind.COMMUNITY).first()
    if community is None:
        raise InvalidInput(_("This place lies in no community."), field="facility")
    return community


def _clean_quantity(value, *, field: str = "quantity", minimum: int = 1) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not minimum <= number <= QUANTITY_MAX:
        raise InvalidInput(
            _("Enter a whole number from %(low)d to %(high)d.") % {"low": minimum, "high": QUANTITY_MAX},
            field=field,
        )
    return number


def _clean_text(value: str, *, field: str, limit: int) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise InvalidInput(_("The text contains a character that cannot be stored."), field=field)
    if len(value) > limit:
        raise InvalidInput(
            _("Write at most %(limit)d characters (this has %(n)d).") % {"limit": limit, "n": len(value)},
            field=field,
        )
    return value


# --- shelters ------------------------------------------------------------------------------------------


@transaction.atomic
def create_shelter(
    *,
    actor: Actor | str,
    facility: Facility,
    capacity: int,
    step_free: bool = False,
    medical_corner: bool = False,
    pets: bool = False,
    notes: str = "",
) -> Shelter:
    """Make ``facility`` a shelter (once per facility). ``actor`` is a manager, or "system" for the seed."""
    if not isinstance(actor, str):
        _require(may_manage(actor), _("Your role cannot set up shelters."))
        if not Facility.objects.restrict(actor).filter(pk=facility.pk).exists():
            raise NotFound(_("Place not found."))
    if facility.kind not in SHELTER_FACILITY_KINDS:
        raise InvalidInput(_("This kind of place cannot be a shelter."), field="facility")
    capacity = _clean_quantity(capacity, field="capacity")
    shelter = Shelter(
        facility=facility,
        community=community_of(facility.region),
        capacity=capacity,
        step_free=step_free,
        medical_corner=medical_corner,
        pets=pets,
        notes=_clean_text(notes, field="notes", limit=NOTES_MAX),
        created_at=clock.now(),
    )
    try:
        with transaction.atomic():
            shelter.save()
    except IntegrityError:
        raise InvalidInput(_("This place is a shelter already."), field="facility") from None
    record(
        actor=actor,
        events=[Event(AuditAction.SHELTER_CREATE, "shelter", shelter.pk, details={"capacity": capacity})],
    )
    return shelter


@transaction.atomic(durable=True)
def open_shelter(*, actor: Actor, shelter: Shelter, emergency: Emergency) -> Shelter:
    """Open ``shelter`` for an active ``emergency`` of its community (it goes on the emergency's timeline)."""
    _require(may_manage(actor), _("Your role cannot open or close shelters."))
    get_shelter_for(actor, shelter.pk, Action.MANAGE_EMERGENCIES)
    active = open_emergencies(actor, shelter.community, Action.MANAGE_EMERGENCIES)
    if not active.filter(pk=emergency.pk).exists():
        raise InvalidInput(not_active(), field="emergency")
    now = clock.now()
    rows = Shelter.objects.filter(pk=shelter.pk).filter(Q(is_open=False) | ~Q(opened_for=emergency))
    changed = rows.update(is_open=True, opened_for=emergency, opened_at=now)
    if not changed:
        raise InvalidInput(_("The shelter is open for this emergency already."), field="emergency")
    shelter.refresh_from_db(fields=["is_open", "opened_for", "opened_at", "occupied"])
    TimelineEntry.objects.create(
        emergency=emergency,
        at=now,
        kind=TimelineKind.SHELTER_OPENED,
        actor=actor,
        details={"shelter": shelter.pk, "capacity": shelter.capacity},
    )
    record(
        actor=actor,
        events=[Event(AuditAction.SHELTER_OPEN, "shelter", shelter.pk, details={"emergency": emergency.pk})],
    )
    return shelter


@transaction.atomic(durable=True)
def close_shelter(*, actor: Actor, shelter: Shelter) -> Shelter:
    """Close ``shelter``; refused while anyone is still checked in (check them out first)."""
    _require(may_manage(actor), _("Your role cannot open or close shelters."))
    get_shelter_for(actor, shelter.pk, Action.MANAGE_EMERGENCIES)
    closed = Shelter.objects.filter(pk=shelter.pk, is_open=True, occupied=0).update(is_open=False)
    shelter.refresh_from_db(fields=["is_open", "opened_for", "opened_at", "occupied"])
    if not closed:
        if not shelter.is_open:
            raise InvalidInput(_("The shelter is closed already."), field="shelter")
        raise InvalidInput(
            _("%(n)d people are still checked in to %(shelter)s: check them out first.")
            % {"n": shelter.occupied, "shelter": shelter.facility.name_zh},
            field="shelter",
        )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.SHELTER_CLOSE,
                "shelter",
                shelter.pk,
                details={"emergency": shelter.opened_for_id},
            )
        ],
    )
    return shelter


def find_residents(user: Actor, query: str) -> list[Resident]:
    """Residents in ``user``'s scope whose name contains ``query`` (at most :data:`SEARCH_MAX`)."""
    query = _clean_text(query, field="q", limit=64)
    if not query:
        return []
    return list(
        Resident.objects.restrict(user)
        .filter(name__icontains=query)
        .select_related("household__unit__building")
        .order_by("name", "id")[:SEARCH_MAX]
    )


def find_by_id_number(user: Actor, id_number: str) -> Resident:
    """The resident in ``user``'s scope with this ID number (through the blind index), else 400 on the
    field: the same answer for "no such person" and "not yours"."""
    clear = clean_id_number(id_number)
    resident = (
        Resident.objects.restrict(user)
        .filter(id_number_index=vault.blind_index("id_number", clear))
        .select_related("household")
        .first()
    )
    if resident is None:
        raise InvalidInput(_("Nobody in your area has this ID number."), field="id_number")
    return resident


@transaction.atomic(durable=True)
def check_in(*, actor: Actor, shelter: Shelter, resident: Resident, via: str = "name") -> Stay:
    """Check ``resident`` in to ``shelter`` (open, with room): a stay for the emergency it is open for.

    Refused beyond capacity, naming the shelter and its capacity; refused for someone checked in
    anywhere already (check them out there first)."""
    _require(may_operate(actor), _("Your role cannot check residents in."))
    shelter = get_shelter_for(actor, shelter.pk)
    if not Resident.objects.restrict(actor).filter(pk=resident.pk).exists():
        raise NotFound(_("Resident not found."))
    if not shelter.is_open:
        raise InvalidInput(
            _("%(shelter)s is not open: a manager opens it for an emergency first.")
            % {"shelter": shelter.facility.name_zh},
            field="shelter",
        )
    elsewhere = Stay.objects.current().filter(resident=resident).select_related("shelter__facility").first()
    if elsewhere is not None:
        raise InvalidInput(
            _("This resident is checked in to %(shelter)s already: check them out there first.")
            % {"shelter": elsewhere.shelter.facility.name_zh},
            field="resident",
        )
    taken = Shelter.objects.filter(pk=shelter.pk, is_open=True, occupied__lt=F("capacity"))
    if not taken.update(occupied=F("occupied") + 1):
        raise InvalidInput(
            _("%(shelter)s is full (%(capacity)d people): send them to another open shelter.")
            % {"shelter": shelter.facility.name_zh, "capacity": shelter.capacity},
            field="shelter",
        )
    stay = Stay(
        shelter=shelter,
        emergency_id=shelter.opened_for_id,
        resident=resident,
        household_id=resident.household_id,
        checked_in_at=clock.now(),
        checked_in_by=actor if isinstance(actor, User) else None,
    )
    try:
        with transaction.atomic():
            stay.save()
    except IntegrityError:
        raise InvalidInput(_("This resident is already checked in to a shelter."), field="resident") from None
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.SHELTER_CHECK_IN,
                "resident",
                resident.pk,
                details={"shelter": shelter.pk, "emergency": shelter.opened_for_id, "via": via},
            )
        ],
    )
    return stay


@transaction.atomic(durable=True)
def check_out(*, actor: Actor, stay: Stay) -> Stay:
    """End ``stay`` now (its place in the shelter is free again)."""
    _require(may_operate(actor), _("Your role cannot check residents out."))
    stay = get_stay_for(actor, stay.pk)
    now = clock.now()
    if not Stay.objects.filter(pk=stay.pk, checked_out_at__isnull=True).update(
        checked_out_at=now, checked_out_by=actor
    ):
        raise InvalidInput(_("This resident has been checked out already."), field="stay")
    Shelter.objects.filter(pk=stay.shelter_id, occupied__gt=0).update(occupied=F("occupied") - 1)
    stay.checked_out_at, stay.checked_out_by = now, actor
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.SHELTER_CHECK_OUT,
                "resident",
                stay.resident_id,
                details={"shelter": stay.shelter_id, "emergency": stay.emergency_id},
            )
        ],
    )
    return stay


def shown_name(user: Actor, resident: Resident, visible: set[int]) -> str:
    """The resident's name for ``user``: in full when they are in ``user``'s scope of people, else masked."""
    return resident.name if resident.pk in visible else vault.mask_name(resident.name)


def visible_residents(user: Actor, resident_ids) -> set[int]:
    """Which of ``resident_ids`` ``user`` may see by name (residents in their scope)."""
    return set(Resident.objects.restrict(user).filter(pk__in=list(resident_ids)).values_list("pk", flat=True))


@dataclass
class StayRow:
    stay: Stay
    name: str
    named: bool


def current_stays(user: Actor, shelter: Shelter) -> list[StayRow]:
    stays = list(
        Stay.objects.restrict(user)
        .current()
        .filter(shelter=shelter)
        .select_related("resident", "household__unit__building")
        .order_by("checked_in_at", "id")
    )
    visible = visible_residents(user, [s.resident_id for s in stays])
    return [StayRow(s, shown_name(user, s.resident, visible), s.resident_id in visible) for s in stays]


def occupancy_curve(emergency: Emergency, *, shelter: Shelter | None = None) -> list[tuple[dt.datetime, int]]:
    """How many people were in the emergency's shelters (or in ``shelter``) after each check-in and
    check-out, in time order: the occupancy history, rebuilt from the stays' times."""
    stays = Stay.objects.filter(emergency=emergency)
    if shelter is not None:
        stays = stays.filter(shelter=shelter)
    changes: list[tuple[dt.datetime, int]] = []
    for checked_in_at, checked_out_at in stays.values_list("checked_in_at", "checked_out_at"):
        changes.append((checked_in_at, 1))
        if checked_out_at is not None:
            changes.append((checked_out_at, -1))
    changes.sort(key=lambda change: (change[0], change[1]))  # out before in at the same instant
    curve: list[tuple[dt.datetime, int]] = []
    people = 0
    for at, step in changes:
        people += step
        curve.append((at, people))
    return curve


def occupancy_at(emergency: Emergency, at: dt.datetime) -> int:
    """How many people were in the emergency's shelters at ``at``."""
    return (
        Stay.objects.filter(emergency=emergency, checked_in_at__lte=at)
        .filter(Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=at))
        .count()
    )


# --- supplies --------------------------------------------------------------------------------------------


@transaction.atomic
def create_stock(
    *,
    actor: Actor | str,
    place: Facility,
    kind: str,
    unit: str,
    low_at: int = 0,
    quantity: int = 0,
) -> Stock:
    """A stock of ``kind`` at ``place`` (once per place and kind), with what is on hand received now."""
    if not isinstance(actor, str):
        _require(may_manage(actor), _("Your role cannot manage supplies."))
        if not Facility.objects.restrict(actor).filter(pk=place.pk).exists():
            raise NotFound(_("Place not found."))
    if kind not in SupplyKind.values:
        raise InvalidInput(_("Choose a kind of supply from the list."), field="kind")
    if unit not in SupplyUnit.values:
        raise InvalidInput(_("Choose a unit from the list."), field="unit")
    low_at = _clean_quantity(low_at, field="low_at", minimum=0)
    quantity = _clean_quantity(quantity, minimum=0)
    now = clock.now()
    stock = Stock(
        place=place,
        community=community_of(place.region),
        kind=kind,
        unit=unit,
        low_at=low_at,
        quantity=quantity,
        low_notified=quantity <= low_at,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            stock.save()
    except IntegrityError:
        raise InvalidInput(_("This place has a stock of this supply already."), field="kind") from None
    user = actor if isinstance(actor, User) else None
    if quantity:
        Move.objects.create(
            stock=stock, kind=MoveKind.RECEIVED, quantity=quantity, balance=quantity, at=now, by=user
        )
    record(
        actor=actor,
        events=[
            Event(AuditAction.STOCK_CREATE, "stock", stock.pk, details={"kind": kind, "count": quantity})
        ],
    )
    return stock


# Who may record each kind of move: managers all; those on the ground hand supplies out.
OPERATOR_MOVES = frozenset({MoveKind.DISTRIBUTED})


def reserved_for(stock: Stock, emergency: Emergency) -> int:
    """What is still held of ``stock`` for ``emergency``: reserved, less what was handed out from it."""
    moves = Move.objects.filter(stock=stock, emergency=emergency)
    reserved = moves.filter(kind=MoveKind.RESERVED).aggregate(n=Sum("quantity"))["n"] or 0
    used = moves.filter(kind=MoveKind.DISTRIBUTED).aggregate(n=Sum("from_reserve"))["n"] or 0
    return max(reserved - used, 0)


def _stock_name(stock: Stock) -> str:
    return _("%(supply)s at %(place)s") % {
        "supply": SupplyKind(stock.kind).label,
        "place": stock.place.name_zh,
    }


def _too_few(stock: Stock, wanted: int, have: int) -> InvalidInput:
    return InvalidInput(
        _("Only %(have)d %(unit)s of %(stock)s can be taken, not %(wanted)d.")
        % {
            "have": max(have, 0),
            "unit": SupplyUnit(stock.unit).label,
            "stock": _stock_name(stock),
            "wanted": wanted,
        },
        field="quantity",
    )


@transaction.atomic(durable=True)
def move_stock(
    *,
    actor: Actor,
    stock: Stock,
    kind: str,
    quantity,
    emergency: Emergency | None = None,
    household: Household | None = None,
    note: str = "",
) -> Move:
    """Record one move of ``stock``.

    - ``received`` / ``returned``: more on hand;
    - ``reserved``: held for ``emergency`` (required), out of what is not held yet;
    - ``distributed``: handed to ``household`` (required, in the caller's scope); for an ``emergency``
      it comes out of that emergency's reservation first, then out of what is not held;
    - ``adjusted``: counted again: ``quantity`` is the new count (0 allowed), never below what is held.

    Quantities never go below zero: a move that would is refused, naming the stock and how much can be
    taken. The director is told (once per crossing) when the stock falls to its low mark."""
    if kind not in MoveKind.values:
        raise InvalidInput(
            _("Choose what happened: received, reserved, distributed, returned or counted."), field="kind"
        )
    if kind in OPERATOR_MOVES:
        _require(may_operate(actor), _("Your role cannot hand out supplies."))
    else:
        _require(may_manage(actor), _("Your role cannot manage supplies."))
    stock = get_stock_for(actor, stock.pk)
    amount = _clean_quantity(quantity, minimum=0 if kind == MoveKind.ADJUSTED else 1)
    note = _clean_text(note, field="note", limit=NOTE_MAX)
    if emergency is not None:
        emergency = get_emergency_for(actor, emergency.pk)
        if emergency.community_id != stock.community_id:
            raise InvalidInput(not_active(), field="emergency")
    if kind == MoveKind.RESERVED and emergency is None:
        raise InvalidInput(_("Choose the emergency to reserve it for."), field="emergency")
    if kind == MoveKind.DISTRIBUTED:
        if household is None:
            raise InvalidInput(_("Choose the household that receives it."), field="household")
        if not Household.objects.restrict(actor).filter(pk=household.pk).exists():
            raise InvalidInput(_("Choose a household in your area."), field="household")
    else:
        household = None
    now = clock.now()
    rows = Stock.objects.filter(pk=stock.pk)
    from_reserve = 0
    if kind in (MoveKind.RECEIVED, MoveKind.RETURNED):
        if not rows.filter(quantity__lte=QUANTITY_MAX - amount).update(
            quantity=F("quantity") + amount, updated_at=now
        ):
            raise InvalidInput(_("A stock holds at most %(n)d.") % {"n": QUANTITY_MAX}, field="quantity")
    elif kind == MoveKind.RESERVED:
        if not rows.filter(quantity__gte=F("reserved") + amount).update(
            reserved=F("reserved") + amount, updated_at=now
        ):
            stock.refresh_from_db()
            raise _too_few(stock, amount, stock.available)
    elif kind == MoveKind.DISTRIBUTED:
        locked = Stock.objects.select_for_update().get(pk=stock.pk)
        held = min(reserved_for(locked, emergency), locked.reserved) if emergency is not None else 0
        from_reserve = min(held, amount)
        free = amount - from_reserve
        if not rows.filter(reserved__gte=from_reserve, quantity__gte=F("reserved") + free).update(
            quantity=F("quantity") - amount, reserved=F("reserved") - from_reserve, updated_at=now
        ):
            stock.refresh_from_db()
            raise _too_few(stock, amount, stock.available + from_reserve)
    else:  # counted again
        if not rows.filter(reserved__lte=amount).update(quantity=amount, updated_at=now):
            stock.refresh_from_db()
            raise InvalidInput(
                _("%(n)d %(unit)s of %(stock)s are reserved for emergencies: the count cannot be lower.")
                % {"n": stock.reserved, "unit": SupplyUnit(stock.unit).label, "stock": _stock_name(stock)},
                field="quantity",
            )
    stock.refresh_from_db()
    move = Move.objects.create(
        stock=stock,
        emergency=emergency,
        kind=kind,
        quantity=amount,
        from_reserve=from_reserve,
        balance=stock.quantity,
        household=household,
        at=now,
        by=actor,
        note=note,
    )
    details = {"kind": kind, "count": amount, "emergency": getattr(emergency, "pk", None)}
    if household is not None:
        details["household"] = household.pk
    record(actor=actor, events=[Event(AuditAction.STOCK_MOVE, "stock", stock.pk, details=details)])
    _tell_if_low(stock)
    return move


def _tell_if_low(stock: Stock) -> None:
    """Tell the community's directors once when the stock falls to its low mark; rising above it again
    arms the next telling."""
    if stock.quantity > stock.low_at:
        Stock.objects.filter(pk=stock.pk, low_notified=True, quantity__gt=F("low_at")).update(
            low_notified=False
        )
        return
    if not Stock.objects.filter(pk=stock.pk, low_notified=False, quantity__lte=F("low_at")).update(
        low_notified=True
    ):
        return
    directors = User.objects.filter(role=Role.COMMUNITY_DIRECTOR, region=stock.community, is_active=True)
    notify(
        list(directors.order_by("pk")),
        "supplies.low",
        gettext_lazy("Low stock: %(supply)s at %(place)s"),
        gettext_lazy("%(quantity)s %(unit)s left (low at %(low_at)s). Restock or move supplies in."),
        params={
            "supply": SupplyKind(stock.kind).label,
            "place": stock.place.name_zh,
            "quantity": stock.quantity,
            "unit": SupplyUnit(stock.unit).label,
            "low_at": stock.low_at,
        },
        reference=("stock", stock.pk),
    )


def find_households(user: Actor, query: str) -> list[Household]:
    """Households in ``user``'s scope whose unit matches every word of ``query`` (building name or
    code, unit number, household code), e.g. "3幢 502"."""
    query = _clean_text(query, field="unit", limit=64)
    words = query.split()
    if not words:
        return []
    households = Household.objects.restrict(user)
    for word in words[:4]:
        households = households.filter(
            Q(code__icontains=word)
            | Q(unit__number__icontains=word)
            | Q(unit__building__name__icontains=word)
            | Q(unit__building__code__iexact=word)
        )
    return list(households.select_related("unit__building").order_by("code")[:SEARCH_MAX])


def stocks_low_first(user: Actor):
    """The stocks ``user`` sees: the low ones first, then by place and kind."""
    stocks = list(Stock.objects.restrict(user).select_related("place", "community"))
    return sorted(stocks, key=lambda s: (not s.is_low, s.place.code, s.kind))


# --- the board and the drill ---------------------------------------------------------------------------


@dataclass
class SupplyLine:
    kind: str
    unit: str
    reserved: int = 0
    distributed: int = 0

    @property
    def label(self) -> str:
        return str(SupplyKind(self.kind).label)

    @property
    def unit_label(self) -> str:
        return str(SupplyUnit(self.unit).label)


@dataclass
class BoardPart:
    """The emergency board's shelters and supplies."""

    shelters: list[Shelter] = field(default_factory=list)
    supplies: list[SupplyLine] = field(default_factory=list)
    low: list[Stock] = field(default_factory=list)
    peak: int = 0

    @property
    def occupied(self) -> int:
        return sum(s.occupied for s in self.shelters)

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.shelters)


def _supply_lines(moves) -> list[SupplyLine]:
    lines: dict[tuple[str, str], SupplyLine] = {}
    for kind, unit, move_kind, total in (
        moves.filter(kind__in=[MoveKind.RESERVED, MoveKind.DISTRIBUTED])
        .values_list("stock__kind", "stock__unit", "kind")
        .annotate(total=Sum("quantity"))
        .order_by("stock__kind", "stock__unit", "kind")
    ):
        line = lines.setdefault((kind, unit), SupplyLine(kind, unit))
        if move_kind == MoveKind.RESERVED:
            line.reserved += total
        else:
            line.distributed += total
    return list(lines.values())


def board_part(user: Actor, emergency: Emergency) -> BoardPart:
    """What the emergency board shows of shelters and supplies: the shelters open for it with
    occupancy and capacity, the supplies reserved and distributed for it by kind, the low stocks of
    its community."""
    if not may_view(user):
        return BoardPart()
    shelters = list(
        Shelter.objects.restrict(user).filter(opened_for=emergency, is_open=True).select_related("facility")
    )
    moves = Move.objects.restrict(user).filter(emergency=emergency)
    low = list(
        Stock.objects.restrict(user).filter(community_id=emergency.community_id).low().select_related("place")
    )
    curve = occupancy_curve(emergency)
    return BoardPart(shelters, _supply_lines(moves), low, max((n for _at, n in curve), default=0))


def summary(emergency: Emergency) -> dict:
    """Figures of an emergency's shelters and supplies, for the drill and the after-action review (no
    personal data): ``shelter_peak`` is the most people in its shelters at once."""
    curve = occupancy_curve(emergency)
    stays = Stay.objects.filter(emergency=emergency)
    shelters = Shelter.objects.filter(Q(opened_for=emergency) | Q(stays__emergency=emergency)).distinct()
    moves = Move.objects.filter(emergency=emergency)
    peak_at = None
    peak = 0
    for at, people in curve:
        if people > peak:
            peak, peak_at = people, at
    lines = _supply_lines(moves)
    return {
        "shelter_peak": peak,
        "shelter_peak_at": peak_at.isoformat() if peak_at else None,
        "shelters_used": shelters.count(),
        "shelter_capacity": sum(shelters.values_list("capacity", flat=True)),
        "sheltered_now": stays.filter(checked_out_at__isnull=True).count(),
        "check_ins": stays.count(),
        "households_sheltered": stays.values("household").distinct().count(),
        "supplies_reserved": {line.kind: line.reserved for line in lines if line.reserved},
        "supplies_distributed": {line.kind: line.distributed for line in lines if line.distributed},
        "households_supplied": moves.filter(kind=MoveKind.DISTRIBUTED).values("household").distinct().count(),
        "low_stocks": Stock.objects.filter(community_id=emergency.community_id).low().count(),
    }


# --- privacy: what an emergency gathered -----------------------------------------------------------


@transaction.atomic
def purge_emergency(emergency: Emergency) -> dict[str, int]:
    """Remove what shelters and supplies gathered about people for ``emergency`` once its retention has run
    out: its stays are deleted (a stay still open is closed first, freeing its place) and its supply
    moves forget the household they went to. Stock quantities and the moves themselves stay (the stock's
    ledger). The caller (the emergency's purge) audits it; returns how many of each."""
    stays = Stay.objects.filter(emergency=emergency)
    for shelter_id, still_in in (
        stays.filter(checked_out_at__isnull=True).values_list("shelter").annotate(n=Count("id")).order_by()
    ):
        Shelter.objects.filter(pk=shelter_id).update(occupied=Greatest(F("occupied") - still_in, 0))
    deleted, _by_model = stays.delete()
    forgotten = Move.objects.filter(emergency=emergency, household__isnull=False).update(household=None)
    return {"stays": deleted, "moves": forgotten}


# --- the demo: shelters and supplies of a seeded community ------------------------------------------


# Per kind of facility: capacity when the facility gives none, and what it offers.
SHELTER_DEFAULTS: dict[str, dict] = {
    FacilityKind.SHELTER: {"capacity": 800, "step_free": True, "medical_corner": True, "pets": True},
    FacilityKind.COMMUNITY_CENTRE: {
        "capacity": 200,
        "step_free": True,
        "medical_corner": True,
        "pets": False,
    },
    FacilityKind.SCHOOL: {"capacity": 300, "step_free": False, "medical_corner": False, "pets": False},
    FacilityKind.SPORTS_FIELD: {"capacity": 400, "step_free": True, "medical_corner": False, "pets": True},
    FacilityKind.ELDERLY_DAY_CARE: {"capacity": 40, "step_free": True, "medical_corner": True, "pets": False},
}
# The community's store (at its community centre), and what each kind of place keeps: kind, unit, quantity,
# low mark.
DEMO_STOCK = {
    FacilityKind.COMMUNITY_CENTRE: [
        (SupplyKind.WATER, SupplyUnit.BOX, 120, 30),
        (SupplyKind.FOOD, SupplyUnit.BOX, 80, 20),
        (SupplyKind.MEDICINE, SupplyUnit.BOX, 15, 5),
        (SupplyKind.FIRST_AID, SupplyUnit.SET, 20, 5),
        (SupplyKind.BLANKETS, SupplyUnit.PIECE, 150, 40),
        (SupplyKind.CAMP_BEDS, SupplyUnit.PIECE, 60, 15),
        (SupplyKind.TORCHES, SupplyUnit.PIECE, 50, 10),
        (SupplyKind.RAINCOATS, SupplyUnit.PIECE, 80, 20),
        (SupplyKind.GENERATORS, SupplyUnit.SET, 2, 1),
    ],
    FacilityKind.MICRO_FIRE_STATION: [
        (SupplyKind.SANDBAGS, SupplyUnit.BAG, 400, 100),
        (SupplyKind.PUMPS, SupplyUnit.SET, 4, 1),
        (SupplyKind.TORCHES, SupplyUnit.PIECE, 12, 4),
    ],
    FacilityKind.SHELTER: [
        (SupplyKind.WATER, SupplyUnit.BOX, 60, 20),
        (SupplyKind.BLANKETS, SupplyUnit.PIECE, 100, 30),
    ],
}


@transaction.atomic
def install_shelters(community: Region) -> dict[str, int]:
    """Shelters for the community's facilities that can take people in, and a stock of supplies at its
    community centre, micro fire station and emergency shelter (:data:`DEMO_STOCK`). Deterministic and
    re-runnable: what exists already is left as it is. Returns how many of each it made."""
    facilities = Facility.objects.filter(
        Q(region=community) | Q(region__path__startswith=community.path)
    ).order_by("code")
    made = {"shelters": 0, "stocks": 0}
    for facility in facilities:
        defaults = SHELTER_DEFAULTS.get(facility.kind)
        if defaults is not None and not Shelter.objects.filter(facility=facility).exists():
            create_shelter(
                actor="system",
                facility=facility,
                capacity=facility.capacity or defaults["capacity"],
                step_free=defaults["step_free"],
                medical_corner=defaults["medical_corner"],
                pets=defaults["pets"],
            )
            made["shelters"] += 1
        for kind, unit, quantity, low_at in DEMO_STOCK.get(facility.kind, []):
            if not Stock.objects.filter(place=facility, kind=kind).exists():
                create_stock(
                    actor="system", place=facility, kind=kind, unit=unit, low_at=low_at, quantity=quantity
                )
                made["stocks"] += 1
    return made
