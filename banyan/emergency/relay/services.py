"""Warnings to residents by area (issue 15, Must have 4).

**Official warnings, as received.** Only county-level and higher governments issue warnings; the
community relays them and never rewrites them. :func:`sweep` (run by ``banyan worker``) relays every
actual warning in force to each community its CAP area covers (:func:`relay_warning`): the residents of
the buildings inside the area are told, once per resident and warning, the CAP headline as the subject
and the description and instruction as the body, verbatim from the CAP ``info`` in their language
(zh-CN or en; else the other one), followed by the sender's name ("来源：杭州市气象台").
A red-grade warning (CAP severity Extreme, grade red, or 红色 in the headline) reaches everyone in the
covered buildings whatever they chose; a lower one the residents whose
:class:`~banyan.emergency.relay.models.Subscription` wants its grade for a place of theirs the warning
covers — their building, grid or whole community (no subscription: every grade, for their building).

**Community notices.** :func:`send_notice` tells the residents of an emergency's affected area (or
those in care there, or the whole community) a notice written by its managers, on every channel they
have. :func:`not_reached` lists those no delivery reached after :data:`NOT_REACHED_AFTER_MIN` minutes
(or who have no channel at all); :func:`knock_on_doors` turns them into door-knocking tasks, one per
household, each with an incident dispatched on foot.

**Channels.** In the app for residents with an account; SMS for those with a phone (for warnings:
those without an account); a voice call for residents in care whose kind needs it
(:data:`VOICE_CARE_KINDS`); their consenting carers for those who cannot receive (no account and no
phone) or cannot take it in alone (:data:`CARER_CARE_KINDS`). Residents in care are told first (the
highest care level first). Phones come only from the vault through notify; logs, events and the
timeline hold ids and counts, never names or phones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import EmergencyStatus, TaskKind, TaskStatus, TimelineKind
from banyan.emergency.models import Emergency, Task, TimelineEntry
from banyan.emergency.relay.choices import Audience, RelayChannel, SubscriptionPlace
from banyan.emergency.relay.models import Notice, Recipient, RelayedWarning, Subscription
from banyan.notify.choices import DeliveryStatus, Urgency
from banyan.notify.models import Delivery, Message, Preference
from banyan.notify.services import Contact, notify
from banyan.people.carers import consented_carers_of
from banyan.people.choices import CareKind
from banyan.people.models import Actor, CareProfile, Resident, User
from banyan.places.models import Building, Region
from banyan.response.models import Source
from banyan.response.services import open_incident
from banyan.warning import areas
from banyan.warning.cap import CapError, parse_cap
from banyan.warning.models import OfficialWarning

logger = logging.getLogger(__name__)

# Care kinds whose residents are called (voice) besides any other channel: a text may not reach them.
VOICE_CARE_KINDS = frozenset({CareKind.DISABILITY, CareKind.DEMENTIA, CareKind.ELDERLY_ALONE})
# Care kinds whose residents' carers are told too: they may not take a warning in alone.
CARER_CARE_KINDS = frozenset({CareKind.DEMENTIA})
# Official messages relayed to residents: actual alerts and updates (not exercises, tests or cancels).
RELAYED_STATUSES = ("Actual",)
RELAYED_MESSAGE_TYPES = ("Alert", "Update")
GRADES_BELOW_RED = ("blue", "yellow", "orange")
NOT_REACHED_AFTER_MIN = 15  # no confirmed delivery this long after a notice: not reached
KNOCK_DUE_MIN = 30  # a door-knocking task is due this long after it is made
KNOCK_CATEGORY = "wellness_check"  # the incident that sends someone on foot
TEXT_MAX = 1000
REACHED_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.ACKNOWLEDGED)
# The kinds of the notifications written here (a carer's: the resident's kind with ".carer").
RELAY_KINDS = ("relay.warning", "relay.notice", "relay.warning.carer", "relay.notice.carer")


# --- what the CAP says, per language -----------------------------------------------------------------


@dataclass(frozen=True)
class WarningText:
    """One CAP ``info`` block's words, verbatim."""

    headline: str
    description: str
    instruction: str
    sender_name: str


def warning_texts(warning: OfficialWarning) -> dict[str, WarningText]:
    """The warning's words by primary language (``zh``, ``en``), verbatim from the CAP message kept at
    import; the stored fields when the kept message cannot be read again."""
    texts: dict[str, WarningText] = {}
    try:
        cap = parse_cap(warning.raw.encode("utf-8"))
    except (CapError, ValueError, UnicodeError):
        cap = None
    if cap is not None:
        for info in cap.infos:
            language = info.language.lower().split("-")[0]
            if language in ("zh", "en") and language not in texts and (info.headline or info.description):
                texts[language] = WarningText(
                    headline=info.headline or info.event,
                    description=info.description,
                    instruction=info.instruction,
                    sender_name=info.sender_name or warning.sender_name,
                )
    if not texts:
        sender = warning.sender_name
        if warning.headline_zh:
            texts["zh"] = WarningText(warning.headline_zh, warning.description, warning.instruction, sender)
        if warning.headline_en or not texts:
            texts["en"] = WarningText(
                warning.headline_en or warning.event, warning.description, warning.instruction, sender
            )
    return texts


def text_for(texts: dict[str, WarningText], language: str) -> WarningText:
    """The reader's language's words, else the other language's."""
    primary = "zh" if language.lower().startswith("zh") else "en"
    return texts.get(primary) or next(iter(texts.values()))


def compose(text: WarningText, language: str, fallback_sender: str) -> tuple[str, str]:
    """``(subject, body)`` of a relayed warning: the headline; the description and the instruction as
    received, then the source named in the reader's language."""
    with translation.override(language):
        source = _("Source: %(sender)s") % {"sender": text.sender_name or fallback_sender}
    body = "\n\n".join(part for part in (text.description, text.instruction, source) if part)
    return text.headline[:200], body


def is_red(warning: OfficialWarning) -> bool:
    """Red grade: severity Extreme, grade red, or 红色 in the Chinese headline."""
    return warning.severity == "Extreme" or warning.grade == "red" or "红色" in (warning.headline_zh or "")


# --- where the warning reaches -------------------------------------------------------------------------


def _outlines(region: Region) -> list[BaseGeometry]:
    """The region's outline; a region drawn without one stands for the outlines below it."""
    boundaries = (
        [region.boundary]
        if region.boundary
        else list(
            Region.objects.filter(path__startswith=region.path)
            .exclude(boundary=None)
            .values_list("boundary", flat=True)[:500]
        )
    )
    found: list[BaseGeometry] = []
    for boundary in boundaries:
        try:
            found.append(shape(boundary))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            continue
    return found


def covers_region(warning: OfficialWarning, region: Region) -> bool:
    """Does the warning's CAP area (polygons, circles) reach the region? One without a shape does."""
    return areas.concerns(warning, areas.Area((region,), boundaries=_outlines(region)))


def covers_building(warning: OfficialWarning, building: Building) -> bool:
    point = Point(building.longitude, building.latitude)
    return areas.concerns(warning, areas.Area((building.grid,), boundaries=[point]))


# --- who is told, on which channels ---------------------------------------------------------------------


@dataclass
class Person:
    """A resident to tell, with what decides how."""

    resident: Resident
    account: User | None
    care_kinds: set[str] = field(default_factory=set)
    care_level: int = 0

    @property
    def is_vulnerable(self) -> bool:
        return bool(self.care_kinds)


def channels_for(person: Person, *, every_channel: bool) -> list[str]:
    """The ways to reach ``person``: in the app with an account; SMS with a phone (``every_channel``, for
    a notice or a red warning; else only without an account); a voice call for the care kinds that need
    it; the carers of those who cannot receive or cannot take it in alone (dropped by the caller when
    they have no consenting carer to tell)."""
    phone = bool(person.resident.phone)
    chosen: list[str] = []
    if person.account is not None:
        chosen.append(RelayChannel.IN_APP)
    if phone and (every_channel or person.account is None):
        chosen.append(RelayChannel.SMS)
    if phone and person.care_kinds & VOICE_CARE_KINDS:
        chosen.append(RelayChannel.VOICE)
    if not chosen or person.care_kinds & CARER_CARE_KINDS:
        chosen.append(RelayChannel.CARER)
    return chosen


def _people(residents: QuerySet[Resident]) -> list[Person]:
    """The residents with their accounts and care, those in care first (highest level first)."""
    rows = list(residents.select_related("household__unit__building", "household__grid").order_by("id"))
    accounts = {
        user.resident_id: user
        for user in User.objects.filter(resident__in=[r.pk for r in rows], is_active=True)
    }
    care: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for resident_id, kind, level in CareProfile.objects.filter(
        resident__in=[r.pk for r in rows], is_active=True
    ).values_list("resident_id", "kind", "level"):
        care[resident_id].append((kind, level))
    people = [
        Person(
            resident=r,
            account=accounts.get(r.pk),
            care_kinds={kind for kind, _level in care[r.pk]},
            care_level=max((level for _kind, level in care[r.pk]), default=0),
        )
        for r in rows
    ]
    people.sort(key=lambda p: (not p.is_vulnerable, -p.care_level, p.resident.pk))
    return people


def _language_of(account: User | None, preferences: dict[int, Preference]) -> str:
    preference = preferences.get(account.pk) if account is not None else None
    return (preference.language if preference is not None else "") or settings.LANGUAGE_CODE


@dataclass
class Told:
    recipients: list[Recipient]
    messages: int


def _tell(
    people: Sequence[Person],
    *,
    kind: str,
    words,  # language -> (subject, body)
    reference: tuple[str, int],
    every_channel: bool,
    about: dict,
) -> Told:
    """Write a recipient row (``about``: its relay and warning, or its notice) and the notifications for
    each person, in the order given (vulnerable first), one notify call per language and channels."""
    preferences = {
        p.user_id: p for p in Preference.objects.filter(user__in=[x.account.pk for x in people if x.account])
    }
    now = clock.now()
    recipients: list[Recipient] = []
    # (in care, language, channels) → members: those in care are written (and so sent) first
    groups: dict[tuple[bool, str, tuple[str, ...]], list[tuple[int, object]]] = defaultdict(list)
    told_carers: list[tuple[int, object]] = []
    chosen = [channels_for(person, every_channel=every_channel) for person in people]
    carers_of = consented_carers_of(
        person.resident
        for person, channels in zip(people, chosen, strict=True)
        if RelayChannel.CARER in channels
    )
    for position, (person, channels) in enumerate(zip(people, chosen, strict=True), start=1):
        index = len(recipients)
        if RelayChannel.CARER in channels:
            reachable = [
                (index, carer.user if carer.user is not None else Contact(phone=carer.phone))
                for carer in carers_of.get(person.resident.pk, [])
                if (carer.user is not None and carer.user.is_active) or (carer.user is None and carer.phone)
            ]
            if not reachable:  # no carer to tell: not a channel after all
                channels.remove(RelayChannel.CARER)
            told_carers += reachable
        recipients.append(
            Recipient(
                **about,
                resident=person.resident,
                is_vulnerable=person.is_vulnerable,
                position=position,
                channels=channels,
                created_at=now,
            )
        )
        language = _language_of(person.account, preferences)
        sent = tuple(c for c in channels if c != RelayChannel.CARER)
        if person.account is not None:
            groups[(person.is_vulnerable, language, sent)].append((index, person.account))
        elif sent:
            groups[(person.is_vulnerable, settings.LANGUAGE_CODE, sent)].append(
                (index, Contact(phone=person.resident.phone, language=settings.LANGUAGE_CODE))
            )
    carer_preferences = {
        p.user_id: p
        for p in Preference.objects.filter(
            user__in=[member.pk for _index, member in told_carers if isinstance(member, User)]
        )
    }
    carers: dict[str, list[tuple[int, object]]] = defaultdict(list)  # language → (recipient index, carer)
    for index, member in told_carers:
        account = member if isinstance(member, User) else None
        carers[_language_of(account, carer_preferences)].append((index, member))
    Recipient.objects.bulk_create(recipients, batch_size=500)
    links: list = []
    written = 0
    for (vulnerable, language, sent_on), members in sorted(groups.items(), key=lambda item: not item[0][0]):
        if not vulnerable and carers:  # the carers of those in care before everyone else
            written += _tell_carers(carers, kind, words, reference, recipients, links)
            carers = {}
        subject, body = words(language)
        messages = notify(
            [member for _index, member in members],
            kind,
            subject,
            body,
            channels=list(sent_on),
            reference=reference,
            urgency=Urgency.URGENT,
        )
        for (index, _member), message in zip(members, messages, strict=True):
            links.append(Recipient.messages.through(recipient_id=recipients[index].pk, message_id=message.pk))
        written += len(messages)
    written += _tell_carers(carers, kind, words, reference, recipients, links)
    Recipient.messages.through.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)
    return Told(recipients, written)


def _tell_carers(carers: dict, kind: str, words, reference, recipients: list[Recipient], links: list) -> int:
    """The carers' messages (the same words), each carer told once however many they look after."""
    written = 0
    for language, members in carers.items():
        subject, body = words(language)
        # a carer caring for two residents is told once; each resident's row points at that message
        unique: dict[object, object] = {}
        for _index, member in members:
            unique.setdefault(member.pk if isinstance(member, User) else member, member)
        messages = notify(
            list(unique.values()), f"{kind}.carer", subject, body, reference=reference, urgency=Urgency.URGENT
        )
        by_key = dict(zip(unique.keys(), messages, strict=True))
        for index, member in members:
            message = by_key[member.pk if isinstance(member, User) else member]
            links.append(Recipient.messages.through(recipient_id=recipients[index].pk, message_id=message.pk))
        written += len(messages)
    return written


def _timeline(emergencies: Iterable[Emergency], kind: str, actor, details: dict) -> None:
    now = clock.now()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(emergency=e, at=now, kind=kind, actor=actor, details=details) for e in emergencies
    )


# --- relaying official warnings --------------------------------------------------------------------------


def warnings_to_relay(now: dt.datetime) -> QuerySet[OfficialWarning]:
    """Actual government warnings in force (not expired), oldest first."""
    return OfficialWarning.objects.filter(
        Q(expires__isnull=True) | Q(expires__gt=now),
        status__in=RELAYED_STATUSES,
        msg_type__in=RELAYED_MESSAGE_TYPES,
    ).order_by("sent", "id")


def _subscriptions(residents: Iterable[Resident]) -> dict[int, Subscription]:
    return {s.resident_id: s for s in Subscription.objects.filter(resident__in=[r.pk for r in residents])}


def wants(
    warning: OfficialWarning,
    subscription: Subscription | None,
    *,
    red: bool,
    building_covered: bool,
    grid_covered: Callable[[], bool],
) -> bool:
    """Is a resident told of this warning? A red one: everyone whose building it covers. Any grade:
    those whose subscription takes it (its grade, unless red) for a place of theirs it covers — their
    building, grid or whole community. No subscription: every grade, for their building."""
    place = subscription.place if subscription is not None else SubscriptionPlace.BUILDING
    grades = subscription.grades if subscription is not None else list(GRADES_BELOW_RED)
    if place == SubscriptionPlace.BUILDING:
        inside = building_covered
    elif place == SubscriptionPlace.GRID:
        inside = building_covered or grid_covered()
    else:
        inside = True  # the warning reaches the community
    if red:
        return building_covered or inside
    return inside and (warning.grade in grades if warning.grade else bool(grades))


@transaction.atomic(durable=True)
def relay_warning(warning: OfficialWarning, community: Region) -> RelayedWarning | None:
    """Relay ``warning`` to ``community``'s residents, once (None when it was relayed already): a red one
    to everyone in the buildings it covers; any grade to those subscribed to it for a place it covers."""
    now = clock.now()
    red = is_red(warning)
    buildings = list(Building.objects.filter(grid__path__startswith=community.path).select_related("grid"))
    covered = {b.pk for b in buildings if covers_building(warning, b)}
    try:
        with transaction.atomic():
            relay = RelayedWarning.objects.create(
                warning=warning, community=community, relayed_at=now, buildings=len(covered), is_red=red
            )
    except IntegrityError:
        return None
    candidates = _people(
        Resident.objects.filter(household__unit__building__in=[b.pk for b in buildings]).exclude(
            relay_recipients__warning=warning
        )
    )
    subscriptions = _subscriptions(p.resident for p in candidates)
    grids: dict[int, bool] = {}

    def covers_grid(grid: Region) -> bool:
        if grid.pk not in grids:
            grids[grid.pk] = covers_region(warning, grid)
        return grids[grid.pk]

    people = [
        person
        for person in candidates
        if wants(
            warning,
            subscriptions.get(person.resident.pk),
            red=red,
            building_covered=person.resident.household.unit.building_id in covered,
            grid_covered=partial(covers_grid, person.resident.household.grid),
        )
    ]
    texts = warning_texts(warning)
    fallback = warning.sender_name or warning.sender

    def words(language: str) -> tuple[str, str]:
        return compose(text_for(texts, language), language, fallback)

    told = _tell(
        people,
        kind="relay.warning",
        words=words,
        reference=("official_warning", warning.pk),
        every_channel=red,
        about={"relay": relay, "warning": warning},
    )
    details = {
        "warning": warning.pk,
        "community": community.pk,
        "recipients": len(told.recipients),
        "vulnerable": sum(1 for r in told.recipients if r.is_vulnerable),
        "red": red,
    }
    record(
        actor=None, events=[Event(AuditAction.RELAY_WARNING, "official_warning", warning.pk, details=details)]
    )
    _timeline(
        Emergency.objects.filter(community=community).open(), TimelineKind.WARNING_RELAYED, None, details
    )
    logger.info(
        "warning %s relayed to community %s: %s residents, %s messages",
        warning.pk,
        community.pk,
        len(told.recipients),
        told.messages,
    )
    return relay


# (warning, community) pairs found apart in this process: the worker's round (every second) does not
# weigh the same shapes again. A warning's area never changes (an update is a new warning).
_APART: set[tuple[str, str, dt.datetime, int]] = set()
_APART_MAX = 100_000


def relay_new_warnings(now: dt.datetime | None = None) -> int:
    """Relay each warning in force to each community it covers that has not had it yet; the count."""
    now = now or clock.now()
    communities = list(Region.objects.filter(kind="community").order_by("path"))
    done = set(
        RelayedWarning.objects.filter(warning__in=warnings_to_relay(now)).values_list(
            "warning_id", "community_id"
        )
    )
    if len(_APART) > _APART_MAX:
        _APART.clear()
        _REFERENCES.clear()
    cancelled = {key for cancel in recent_cancels(now) for key in cancel_references(cancel)}
    count = 0
    for warning in warnings_to_relay(now).defer("raw"):
        if _key(warning) in cancelled:  # lifted before it reached this community: never relayed
            continue
        for community in communities:
            apart = (warning.sender, warning.identifier, warning.sent, community.pk)  # the warning's own key
            if (warning.pk, community.pk) in done or apart in _APART:
                continue
            if not covers_region(warning, community):
                _APART.add(apart)
                continue
            count += relay_warning(warning, community) is not None
    return count


# --- cancellations -----------------------------------------------------------------------------------------


WarningKey = tuple[str, str, dt.datetime]  # CAP's own key of a message: sender, identifier, sent
_REFERENCES: dict[WarningKey, tuple[WarningKey, ...]] = {}  # a Cancel's references, read once per process


def _key(warning: OfficialWarning) -> WarningKey:
    return (warning.sender, warning.identifier, warning.sent)


def cancel_references(cancel: OfficialWarning) -> tuple[WarningKey, ...]:
    """The messages a CAP ``Cancel`` names in its references (read from the kept message)."""
    key = _key(cancel)
    if key not in _REFERENCES:
        try:
            cap = parse_cap(cancel.raw.encode("utf-8"))
        except (CapError, ValueError, UnicodeError):
            _REFERENCES[key] = ()
        else:
            _REFERENCES[key] = tuple((r.sender, r.identifier, r.sent) for r in cap.references)
    return _REFERENCES[key]


def recent_cancels(now: dt.datetime) -> QuerySet[OfficialWarning]:
    """Actual ``Cancel`` messages imported in the last day."""
    return OfficialWarning.objects.filter(
        status__in=RELAYED_STATUSES, msg_type="Cancel", imported_at__gte=now - dt.timedelta(days=1)
    ).order_by("sent", "id")


def cancelled_warnings(cancel: OfficialWarning) -> list[OfficialWarning]:
    """The warnings a CAP ``Cancel`` message names, as stored."""
    found: list[OfficialWarning] = []
    for sender, identifier, sent in cancel_references(cancel):
        warning = OfficialWarning.objects.filter(sender=sender, identifier=identifier, sent=sent).first()
        if warning is not None:
            found.append(warning)
    return found


def cancel_words(cancel: OfficialWarning, cancelled: list[OfficialWarning]):
    """A cancellation's words in a language: its own CAP info as received if it has one; else "lifted"
    and the cancelled warning's headline, as received, with the source named."""
    texts = warning_texts(cancel) if cancel.headline_zh or cancel.headline_en or cancel.description else {}
    fallback = cancel.sender_name or cancel.sender

    def words(language: str) -> tuple[str, str]:
        if texts:
            return compose(text_for(texts, language), language, fallback)
        headline = text_for(warning_texts(cancelled[0]), language).headline if cancelled else ""
        with translation.override(language):
            subject = _("Warning lifted: %(headline)s") % {"headline": headline}
            source = _("Source: %(sender)s") % {"sender": fallback}
        return subject[:200], source

    return words


@transaction.atomic(durable=True)
def relay_cancel(cancel: OfficialWarning, community: Region) -> RelayedWarning | None:
    """Tell the residents of ``community`` who were told of the warnings a ``Cancel`` names that they
    are lifted, once; None when there is nobody to tell or it was done already."""
    cancelled = cancelled_warnings(cancel)
    told = Recipient.objects.filter(warning__in=cancelled, relay__community=community)
    residents = Resident.objects.filter(pk__in=told.values("resident_id")).exclude(
        relay_recipients__warning=cancel
    )
    if not residents.exists():
        return None
    try:
        with transaction.atomic():
            relay = RelayedWarning.objects.create(
                warning=cancel, community=community, relayed_at=clock.now(), buildings=0, is_red=False
            )
    except IntegrityError:
        return None
    result = _tell(
        _people(residents),
        kind="relay.warning",
        words=cancel_words(cancel, cancelled),
        reference=("official_warning", cancel.pk),
        every_channel=False,
        about={"relay": relay, "warning": cancel},
    )
    details = {
        "warning": cancel.pk,
        "community": community.pk,
        "recipients": len(result.recipients),
        "cancel": True,
    }
    record(
        actor=None, events=[Event(AuditAction.RELAY_WARNING, "official_warning", cancel.pk, details=details)]
    )
    _timeline(
        Emergency.objects.filter(community=community).open(), TimelineKind.WARNING_RELAYED, None, details
    )
    return relay


def relay_cancels(now: dt.datetime) -> int:
    """Relay each recent actual ``Cancel`` (imported in the last day) to the communities told of what it
    cancels."""
    count = 0
    for cancel in recent_cancels(now):
        key = (cancel.sender, cancel.identifier, cancel.sent, 0)
        if key in _APART:
            continue
        done = set(RelayedWarning.objects.filter(warning=cancel).values_list("community_id", flat=True))
        communities = (
            RelayedWarning.objects.filter(warning__in=cancelled_warnings(cancel))
            .exclude(community__in=done)
            .values_list("community", flat=True)
            .distinct()
        )
        for community in Region.objects.filter(pk__in=list(communities)):
            count += relay_cancel(cancel, community) is not None
        _APART.add(key)  # weighed once per process: what it cancels was relayed before it came
    return count


def sweep(now: dt.datetime | None = None) -> int:
    """The worker's round: new warnings relayed, then the doors knocked on for those notices missed."""
    now = now or clock.now()
    relayed = relay_new_warnings(now) + relay_cancels(now)
    knocked = 0
    # emergencies with someone told long enough ago, not reached and not yet given a door to knock on;
    # the notices of active emergencies first, by id: else the database weighs "reached" for every
    # recipient of every relayed warning before looking at their notice
    notices = list(
        Notice.objects.filter(emergency__status=EmergencyStatus.ACTIVE).values_list("pk", flat=True)
    )
    waiting = with_reached(
        Recipient.objects.filter(
            notice__in=notices,
            knock_task__isnull=True,
            created_at__lte=now - dt.timedelta(minutes=NOT_REACHED_AFTER_MIN),
        )
    ).filter(reached=False)
    ids = set(waiting.values_list("notice__emergency_id", flat=True))
    for emergency in Emergency.objects.filter(pk__in=ids).select_related("community"):
        knocked += len(knock_on_doors(actor=None, emergency=emergency, now=now))
    return relayed + knocked


# --- community notices ------------------------------------------------------------------------------------


def get_emergency_for(user: Actor, pk, action: Action = Action.VIEW_EMERGENCIES) -> Emergency:
    """An emergency in the user's scope for ``action``; the same 404 for missing and not theirs."""
    emergency = Emergency.objects.restrict(user, action).filter(pk=pk).select_related("community").first()
    if emergency is None:
        raise NotFound(_("Emergency not found."))
    return emergency


def area_residents(emergency: Emergency) -> QuerySet[Resident]:
    """The residents of the affected area: its grids and buildings, else the whole community."""
    grids = list(emergency.area_grids.values_list("path", flat=True))
    buildings = [b for b in emergency.area_buildings if isinstance(b, int)]
    residents = Resident.objects.filter(household__grid__path__startswith=emergency.community.path)
    if not grids and not buildings:
        return residents
    within = Q(household__unit__building__in=buildings)
    for path in grids:
        within |= Q(household__grid__path__startswith=path)
    return residents.filter(within)


def audience_residents(emergency: Emergency, audience: str) -> QuerySet[Resident]:
    if audience == Audience.ALL:
        return Resident.objects.filter(household__grid__path__startswith=emergency.community.path)
    residents = area_residents(emergency)
    if audience == Audience.VULNERABLE:
        residents = residents.filter(care_profiles__is_active=True).distinct()
    return residents


def _clean_text(value: str, name: str, *, required: bool) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise InvalidInput(_("The text cannot hold a NUL character."), field=name)
    if required and not text:
        raise InvalidInput(_("Write the notice in Chinese."), field=name)
    if len(text) > TEXT_MAX:
        raise InvalidInput(_("A notice is at most %(max)d characters.") % {"max": TEXT_MAX}, field=name)
    return text


@transaction.atomic(durable=True)
def send_notice(
    *, actor: Actor, emergency: Emergency, text_zh: str, text_en: str = "", audience: str
) -> Notice:
    """Send a community notice for an active emergency to ``audience`` (area, vulnerable, all) on every
    channel each resident has, those in care first. Its managers only."""
    emergency = get_emergency_for(actor, emergency.pk, Action.MANAGE_EMERGENCIES)
    if audience not in Audience.values:
        raise InvalidInput(_("Send it to the area, to those in care, or to everyone."), field="audience")
    text_zh = _clean_text(text_zh, "text_zh", required=True)
    text_en = _clean_text(text_en, "text_en", required=False)
    if emergency.status != EmergencyStatus.ACTIVE:
        raise Conflict(_("Notices are sent for an active emergency only."))
    now = clock.now()
    notice = Notice.objects.create(
        emergency=emergency, text_zh=text_zh, text_en=text_en, audience=audience, sent_at=now, sent_by=actor
    )

    def words(language: str) -> tuple[str, str]:
        chinese = language.lower().startswith("zh")
        with translation.override(language):
            title = _("Community notice: %(title)s") % {"title": emergency.title}
        return title[:200], (text_zh if chinese or not text_en else text_en)

    told = _tell(
        _people(audience_residents(emergency, audience)),
        kind="relay.notice",
        words=words,
        reference=("emergency", emergency.pk),
        every_channel=True,
        about={"notice": notice},
    )
    details = {
        "notice": notice.pk,
        "audience": audience,
        "recipients": len(told.recipients),
        "vulnerable": sum(1 for r in told.recipients if r.is_vulnerable),
        "no_channel": sum(1 for r in told.recipients if not r.channels),
    }
    record(actor=actor, events=[Event(AuditAction.RELAY_NOTICE, "emergency", emergency.pk, details=details)])
    _timeline([emergency], TimelineKind.NOTICE_SENT, actor, details)
    return notice


# --- reached, not reached, door-knocking ---------------------------------------------------------------


def with_reached(recipients: QuerySet[Recipient]):  # noqa: ANN201 -- the annotated queryset's type
    """Each row annotated ``reached``: a delivery delivered or acknowledged, or a message acknowledged."""
    delivered = Delivery.objects.filter(message__relay_recipients=OuterRef("pk"), status__in=REACHED_STATUSES)
    seen = Message.objects.filter(relay_recipients=OuterRef("pk"), acknowledged_at__isnull=False)
    return recipients.annotate(reached=Exists(delivered) | Exists(seen))


@dataclass(frozen=True)
class NotReached:
    """A resident no notice of the emergency reached: why (no channel, or nothing confirmed in time)."""

    resident: Resident
    is_vulnerable: bool
    no_channel: bool
    since: dt.datetime
    knock_task: Task | None


def not_reached(
    emergency: Emergency, *, now: dt.datetime | None = None, after_minutes: int = NOT_REACHED_AFTER_MIN
) -> list[NotReached]:
    """Residents told of the emergency's notices whom none reached: no channel at all, or no delivery
    confirmed ``after_minutes`` after the first notice to them. Those in care first."""
    now = now or clock.now()
    rows = with_reached(
        Recipient.objects.filter(notice__emergency=emergency).select_related(
            "resident__household__unit__building", "knock_task"
        )
    ).order_by("created_at", "id")
    by_resident: dict[int, list[Recipient]] = defaultdict(list)
    reached: set[int] = set()
    for row in rows:
        by_resident[row.resident_id].append(row)
        if row.reached:
            reached.add(row.resident_id)
    found: list[NotReached] = []
    for resident_id, told in by_resident.items():
        if resident_id in reached:
            continue
        first = told[0]
        no_channel = all(not row.channels for row in told)
        if not no_channel and first.created_at > now - dt.timedelta(minutes=after_minutes):
            continue
        task = next((row.knock_task for row in told if row.knock_task_id), None)
        found.append(NotReached(first.resident, first.is_vulnerable, no_channel, first.created_at, task))
    found.sort(key=lambda n: (not n.is_vulnerable, n.since, n.resident.pk))
    return found


def knock_on_doors(
    *, actor: Actor | None, emergency: Emergency, now: dt.datetime | None = None
) -> list[Task]:
    """A door-knocking task for each household with residents not reached (one not already given one),
    each with an incident dispatched on foot; returns the tasks made. ``actor`` None: the worker."""
    if actor is not None:
        emergency = get_emergency_for(actor, emergency.pk, Action.MANAGE_EMERGENCIES)
    with transaction.atomic(durable=True):
        return _knock(actor, emergency, now or clock.now())


def _knock(actor: Actor | None, emergency: Emergency, now: dt.datetime) -> list[Task]:
    missing = [n for n in not_reached(emergency, now=now) if n.knock_task is None]
    households: dict[int, list[NotReached]] = defaultdict(list)
    for entry in missing:
        households[entry.resident.household_id].append(entry)
    made: list[Task] = []
    for household_id, entries in households.items():
        household = entries[0].resident.household
        key = f"knock:{household_id}"
        task = Task.objects.filter(
            emergency=emergency, kind=TaskKind.DOOR_KNOCK, key=key, status=TaskStatus.OPEN
        ).first()
        if task is None:
            unit = household.unit
            task = Task.objects.create(
                emergency=emergency,
                kind=TaskKind.DOOR_KNOCK,
                title_zh=f"敲门告知：{unit.building.name} {unit.number}",
                title_en=f"Knock on the door: {unit.building.name} {unit.number}",
                key=key,
                due_at=now + dt.timedelta(minutes=KNOCK_DUE_MIN),
                created_at=now,
            )
            task.incident = _dispatch_on_foot(actor, unit, emergency)
            if task.incident is not None:
                task.save(update_fields=["incident"])
            made.append(task)
        Recipient.objects.filter(
            notice__emergency=emergency,
            resident__in=[e.resident.pk for e in entries],
            knock_task__isnull=True,
        ).update(knock_task=task)
    if made:
        details = {"tasks": [t.pk for t in made], "households": len(made)}
        record(
            actor=actor,
            events=[Event(AuditAction.RELAY_DOOR_KNOCK, "emergency", emergency.pk, details=details)],
        )
        _timeline([emergency], TimelineKind.TASK_ASSIGNED, actor, {"door_knock": [t.pk for t in made]})
    return made


def _dispatch_on_foot(actor: Actor | None, unit, emergency: Emergency):
    """The incident that sends the nearest one on foot; None when response cannot open it (the task
    stays for the board)."""
    who = actor if actor is not None and can(actor, Action.REPORT_INCIDENTS) else None
    try:
        with transaction.atomic():
            return open_incident(
                actor=who,
                category=KNOCK_CATEGORY,
                source=Source.STAFF,
                description=_("Emergency %(number)s: a notice did not reach this home; knock on the door.")
                % {"number": emergency.pk},
                unit=unit,
            )
    except (InvalidInput, PermissionDenied, NotFound) as exc:
        logger.warning("door-knocking for emergency %s opens no incident: %s", emergency.pk, exc.message)
        return None


# --- subscriptions ----------------------------------------------------------------------------------------


def subscription_of(resident: Resident) -> Subscription | None:
    return Subscription.objects.filter(resident=resident).first()


@transaction.atomic(durable=True)
def set_subscription(*, actor: Actor, place: str, grades: Sequence[str]) -> Subscription:
    """The signed-in resident's choice of warnings below red, and for which place of their home."""
    resident = getattr(actor, "resident", None) if getattr(actor, "resident_id", None) else None
    if resident is None:
        raise PermissionDenied(_("Only a resident with a home here subscribes to warnings."))
    if place not in SubscriptionPlace.values:
        raise InvalidInput(_("Choose your building, your grid or your whole community."), field="place")
    cleaned = [g for g in GRADES_BELOW_RED if g in set(grades)]
    if len(cleaned) != len(set(grades)):
        raise InvalidInput(_("The grades are blue, yellow and orange; red always comes."), field="grades")
    subscription, _created = Subscription.objects.update_or_create(
        resident=resident,
        defaults={"place": place, "grades": cleaned, "set_by": actor, "updated_at": clock.now()},
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.RELAY_SUBSCRIPTION,
                "resident",
                resident.pk,
                details={"place": place, "grades": cleaned},
            )
        ],
    )
    return subscription


# --- what the pages show -----------------------------------------------------------------------------------


@dataclass
class Counts:
    told: int = 0
    vulnerable: int = 0
    reached: int = 0
    no_channel: int = 0

    @property
    def waiting(self) -> int:
        return self.told - self.reached - self.no_channel


def counts(recipients: QuerySet[Recipient]) -> Counts:
    result = Counts()
    for row in with_reached(recipients).only("is_vulnerable", "channels"):
        result.told += 1
        result.vulnerable += row.is_vulnerable
        result.reached += row.reached
        result.no_channel += not row.channels and not row.reached
    return result


def relays_for(user: Actor, *, limit: int = 50) -> list[tuple[RelayedWarning, Counts]]:
    relays = RelayedWarning.objects.restrict(user).select_related("warning", "community")[:limit]
    return [(relay, counts(relay.recipients.all())) for relay in relays]


def messages_for_resident(user: Actor, *, limit: int = 20) -> QuerySet[Message]:
    """The relayed warnings and notices the signed-in person was told (for themselves, or as the carer of
    someone), newest first, as received."""
    return Message.objects.restrict(user).filter(kind__in=RELAY_KINDS)[:limit]


# --- privacy: what an emergency gathered -----------------------------------------------------------------


@transaction.atomic
def purge_emergency(emergency: Emergency) -> dict[str, int]:
    """Forget who was told the emergency's notices once its retention has run out: their recipient rows
    (resident, channels, messages, door-knocking task) are deleted; the notices' texts and audience stay.
    The caller (the emergency's purge) audits it; returns how many."""
    told = Recipient.objects.filter(notice__emergency=emergency)
    _deleted, by_model = told.delete()
    return {"notice_recipients": by_model.get(Recipient._meta.label, 0)}
