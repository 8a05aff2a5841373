"""Shelters and supplies of a community (issue 15, Must have 6).

A :class:`Shelter` is a facility that can take people in (an emergency shelter 应急避难场所, the community
centre, a school …) with its capacity and accessibility; it is opened for an emergency and closed again.
A :class:`Stay` is one resident's time in a shelter, from check-in to check-out: the shelter's occupancy at
any moment is the stays open then (``occupied`` keeps the current count, updated race-free with the
stays). A :class:`Stock` is what a place holds of one kind of supply; every change of it is a
:class:`Move` (received, reserved for an emergency, distributed to a household, returned, counted again).

All four are the community's: seen by those who see its emergencies
(:data:`banyan.core.access.Action.VIEW_EMERGENCIES`), changed only through
:mod:`banyan.emergency.shelters.services`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.emergency.models import CommunityScopedQuerySet, Emergency
from banyan.emergency.shelters.choices import MoveKind, SupplyKind, SupplyUnit
from banyan.people.models import Household, Resident, User
from banyan.places.models import Facility, Region


class ShelterQuerySet(CommunityScopedQuerySet):
    def open(self):
        return self.filter(is_open=True)


class Shelter(models.Model):
    """A facility that takes people in during an emergency, with what it offers."""

    facility = models.OneToOneField(Facility, models.PROTECT, related_name="shelter", verbose_name=_("place"))
    community = models.ForeignKey(Region, models.PROTECT, related_name="shelters")
    capacity = models.PositiveIntegerField(_("capacity (people)"))
    step_free = models.BooleanField(_("step-free"), default=False)
    medical_corner = models.BooleanField(_("medical corner"), default=False)
    pets = models.BooleanField(_("pets allowed"), default=False)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    is_open = models.BooleanField(_("open"), default=False)
    opened_for = models.ForeignKey(
        Emergency, models.SET_NULL, null=True, blank=True, related_name="shelters", verbose_name=_("open for")
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    # The stays open now: changed only together with a stay, by a conditional UPDATE that refuses to
    # go past the capacity (banyan.emergency.shelters.services.check_in).
    occupied = models.PositiveIntegerField(_("people in"), default=0)
    created_at = models.DateTimeField(_("made"))

    objects = ShelterQuerySet.as_manager()

    class Meta:
        ordering = ["community", "facility__code"]
        verbose_name = _("shelter")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(occupied__lte=models.F("capacity")),
                name="shelter_not_over_capacity",
                violation_error_message=_("A shelter cannot hold more people than its capacity."),
            ),
        ]

    def __str__(self) -> str:
        return self.facility.name_zh

    @property
    def free(self) -> int:
        return max(self.capacity - self.occupied, 0)


class StayQuerySet(CommunityScopedQuerySet):
    community_path = "shelter__community__path"

    def current(self):
        return self.filter(checked_out_at__isnull=True)


class Stay(models.Model):
    """A resident's stay in a shelter during an emergency: checked in, then out (by whom, when)."""

    shelter = models.ForeignKey(Shelter, models.PROTECT, related_name="stays")
    emergency = models.ForeignKey(Emergency, models.CASCADE, null=True, blank=True, related_name="stays")
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="shelter_stays")
    household = models.ForeignKey(Household, models.CASCADE, related_name="shelter_stays")
    checked_in_at = models.DateTimeField(_("checked in"), db_index=True)
    checked_in_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True, db_index=True)
    checked_out_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = StayQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        verbose_name = _("shelter stay")
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(checked_out_at__isnull=True),
                name="stay_one_open_per_resident",
                violation_error_message=_("This resident is already checked in to a shelter."),
            ),
        ]


class StockQuerySet(CommunityScopedQuerySet):
    def low(self):
        return self.filter(quantity__lte=models.F("low_at"))


class Stock(models.Model):
    """What a place holds of one kind of supply: on hand (``quantity``), of which ``reserved`` is held
    for emergencies. Low when ``quantity`` ≤ ``low_at``."""

    place = models.ForeignKey(Facility, models.PROTECT, related_name="stocks", verbose_name=_("place"))
    community = models.ForeignKey(Region, models.PROTECT, related_name="stocks")
    kind = models.CharField(_("supply"), max_length=16, choices=SupplyKind.choices)
    unit = models.CharField(_("unit"), max_length=8, choices=SupplyUnit.choices)
    quantity = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved"), default=0)
    low_at = models.PositiveIntegerField(_("low at"), default=0)
    # Set when the director was told the stock is low; cleared when it rises above ``low_at`` again,
    # so that each crossing is told once.
    low_notified = models.BooleanField(default=False)
    updated_at = models.DateTimeField(_("changed"))

    objects = StockQuerySet.as_manager()

    class Meta:
        ordering = ["community", "place__code", "kind"]
        verbose_name = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["place", "kind"], name="stock_once_per_place_and_kind"),
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("quantity")),
                name="stock_reserved_within_quantity",
                violation_error_message=_("More cannot be reserved than is on hand."),
            ),
        ]

    @property
    def available(self) -> int:
        return self.quantity - self.reserved

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.low_at


class MoveQuerySet(CommunityScopedQuerySet):
    community_path = "stock__community__path"


class Move(models.Model):
    """One change of a stock, with who, when and why; ``balance`` is the quantity on hand after it."""

    stock = models.ForeignKey(Stock, models.CASCADE, related_name="moves")
    emergency = models.ForeignKey(
        Emergency, models.SET_NULL, null=True, blank=True, related_name="supply_moves"
    )
    kind = models.CharField(_("what"), max_length=16, choices=MoveKind.choices)
    # Always positive: the kind says which way (an adjustment records the difference and ``balance``).
    quantity = models.PositiveIntegerField(_("quantity"))
    # Of a distribution for an emergency: how much came out of that emergency's reservation.
    from_reserve = models.PositiveIntegerField(default=0)
    balance = models.PositiveIntegerField(_("on hand after"))
    household = models.ForeignKey(
        Household,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="supply_moves",
        verbose_name=_("household"),
    )
    at = models.DateTimeField(_("at"), db_index=True)
    by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = MoveQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("supply move")
