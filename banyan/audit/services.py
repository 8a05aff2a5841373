"""Writing, anchoring and verifying the audit chain.

``record`` appends entries under a row lock on :class:`ChainHead`, so concurrent writers on
PostgreSQL (and SQLite's single writer) produce one unbroken chain. After the transaction
commits, the anchor file outside the database is moved forward to the last entry (id and hash
only), so removing entries from the end is visible even when the head row is rewound too.
``verify`` recomputes every hash and link, compares the end of the chain with the head and the
anchor, and reports the first entry that does not fit.

An anchor belongs to one chain: it names the chain's id, a digest of the chain's first entry (a new
chain begins with an ``audit.chain`` entry holding a random nonce, so no two databases share one).
The anchor of another chain — a second database beside the first, a database recreated — is
reported as such, never as tampering, and is never overwritten by this chain's appends.

Each hash is an HMAC-SHA256 under the audit key (``BANYAN_AUDIT_KEY`` or the key file's
``audit=`` line, never in the database), so someone holding only a copy of the database cannot
delete or change an entry and recompute the hashes after it. ``rekey`` re-chains a verified chain
under the current key: once after upgrading from the unkeyed SHA-256 chain, or after a key
rotation. See docs/adr/0004-audit-chain.md.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import itertools
import json
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from banyan.audit.actions import AuditAction
from banyan.audit.choices import (
    ACTION_LABELS,
    ACTOR_LABELS,
    DETAIL_LABELS,
    FIELD_DETAILS,
    FIELD_LABELS,
    GRADE_LABELS,
    HIDDEN_DETAILS,
    SUBJECT_ID_LABELS,
    SUBJECT_LABELS,
    VALUE_LABELS,
)
from banyan.audit.models import AuditEntry, ChainHead
from banyan.audit.purpose import looks_personal
from banyan.core import clock, context, vault
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, PermissionDenied

if TYPE_CHECKING:
    from banyan.core.access import Actor

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_HASH = re.compile(r"[0-9a-f]{64}")
_CHAIN = re.compile(r"[0-9a-f]{32}")
CHAIN_START = AuditAction.AUDIT_CHAIN


@dataclass(frozen=True)
class Event:
    """One entry to append. ``action`` is an :class:`AuditAction`; a string is taken only if it is a
    member's value, anything else raises ``ValueError("unknown audit action …")`` here, before
    ``record`` writes anything."""

    action: AuditAction
    subject_type: str
    subject_id: str | int
    purpose: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", AuditAction(self.action))


def _canonical(entry: AuditEntry) -> bytes:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    payload = [
        entry.id,
        at,
        entry.actor_id,
        entry.actor,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.purpose,
        entry.request_id,
        entry.details,
        entry.prev_hash,
    ]
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(entry: AuditEntry, key: bytes | None = None) -> str:
    """HMAC-SHA256 of the entry's canonical form under ``key`` (default: the current audit key)."""
    return hmac.new(key or vault.audit_keys()[0], _canonical(entry), hashlib.sha256).hexdigest()


def unkeyed_hash(entry: AuditEntry) -> str:
    """The hash of the chain before the audit key (plain SHA-256): what anyone can compute."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def chain_id_of(first: AuditEntry) -> str:
    """The id of the chain that begins with ``first`` (entry 1): 32 hex digits of a SHA-256 of its
    canonical form. Not under the audit key, so it survives ``rekey``; entry 1 itself is keyed, so it
    cannot be changed without ``verify`` naming it. A chain begun before chain ids (entry 1 not
    ``audit.chain``) gets its id the same way."""
    return hashlib.sha256(b"banyan audit chain\0" + _canonical(first)).hexdigest()[:32]


def current_chain_id() -> str | None:
    """This database's chain id, or ``None`` while its log is empty (or entry 1 is missing)."""
    first = AuditEntry.objects.filter(pk=1).first()
    return chain_id_of(first) if first else None


def check_purpose(purpose: str) -> None:
    """Refuse a purpose that holds an ID number or a phone number: it would stay in the log for good."""
    if looks_personal(purpose):
        raise InvalidInput(
            _("Do not write ID numbers or phone numbers in the purpose; it is kept in the audit log."),
            field="purpose",
        )


def _actor_columns(actor: Actor | str | None) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.pk, actor.get_username()


def record(
    *, actor: Actor | str | None, events: Iterable[Event], _take_over_anchor: bool = False
) -> list[AuditEntry]:
    """Append ``events`` to the chain in the caller's transaction (or a new one).

    An empty log first gets entry 1, ``audit.chain`` with a random nonce: the chain's id is made
    from it. Once the transaction commits, the anchor file moves forward to the last entry, unless
    it belongs to another chain (``_take_over_anchor``: :func:`reanchor` replaces it).
    """
    events = list(events)
    if not events:
        return []
    for event in events:
        check_purpose(event.purpose)
    key = vault.audit_keys()[0]
    actor_columns = _actor_columns(actor)
    request_id = context.current_request_id()
    at = clock.now()
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        entries = []
        prev = head.last_hash
        next_id = head.last_id
        rows = [(actor_columns, event) for event in events]
        if next_id == 0:
            start = Event(CHAIN_START, "audit", "chain", details={"nonce": secrets.token_hex(16)})
            rows.insert(0, (_actor_columns(None), start))
        for (actor_id, actor_name), event in rows:
            next_id += 1
            entry = AuditEntry(
                id=next_id,
                at=at,
                actor_id=actor_id,
                actor=actor_name,
                action=event.action.value,
                subject_type=event.subject_type,
                subject_id=str(event.subject_id),
                purpose=event.purpose,
                request_id=request_id,
                details=event.details,
                prev_hash=prev,
            )
            entry.hash = compute_hash(entry, key)
            prev = entry.hash
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        head.last_id, head.last_hash = next_id, prev
        head.save(update_fields=["last_id", "last_hash"])
        chain = chain_id_of(entries[0]) if entries[0].id == 1 else current_chain_id()
        # Registered inside the block: a rolled-back savepoint drops it with the entries.
        last = Anchor(next_id, prev, chain)
        transaction.on_commit(
            lambda: _advance_anchor_after_commit(last, take_over=_take_over_anchor), robust=True
        )
    return entries[len(entries) - len(events) :]


def record_one(
    *,
    actor: Actor | str | None,
    action: AuditAction,
    subject_type: str,
    subject_id,
    purpose: str = "",
    details=None,
):
    return record(
        actor=actor,
        events=[Event(action, subject_type, subject_id, purpose, details or {})],
    )[0]


# --- the anchor: the end of the chain, outside the database ------------------------------


@dataclass(frozen=True)
class Anchor:
    """The last committed entry as the anchor file records it: its chain's id, its id and its hash,
    nothing else. ``chain`` is ``None`` in an anchor written before chain ids (a legacy anchor: it is
    compared with the chain as before, and names the chain from the next write on)."""

    id: int
    hash: str
    chain: str | None = None


class AnchorError(Exception):
    """The anchor file exists but does not hold an id and a hash (and perhaps a chain id)."""


def anchor_path() -> Path:
    """``BANYAN_AUDIT_ANCHOR``, by default ``var/audit.anchor`` (``settings.AUDIT_ANCHOR_FILE``)."""
    return Path(settings.AUDIT_ANCHOR_FILE)


def read_anchor(path: Path | None = None) -> Anchor | None:
    """The anchor, or ``None`` if there is no anchor file. Raises :class:`AnchorError` if unreadable."""
    path = path or anchor_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorError(f"cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
        anchor = Anchor(id=data["id"], hash=data["hash"], chain=data.get("chain"))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise AnchorError('expected {"id": N, "hash": "<64 hex digits>"}') from None
    if type(anchor.id) is not int or anchor.id < 1:
        raise AnchorError("its id must be a positive whole number")
    if not isinstance(anchor.hash, str) or not _HASH.fullmatch(anchor.hash):
        raise AnchorError("its hash must be 64 lower-case hex digits")
    if anchor.chain is not None and not (isinstance(anchor.chain, str) and _CHAIN.fullmatch(anchor.chain)):
        raise AnchorError("its chain must be 32 lower-case hex digits")
    return anchor


@contextlib.contextmanager
def _anchor_lock(path: Path) -> Iterator[None]:
    """An exclusive lock beside the anchor, shared by every process that writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_anchor(path: Path, anchor: Anchor) -> None:
    """Replace the anchor file atomically: a reader sees the old anchor or the new, never half; forced
    to disk unless ``settings.AUDIT_ANCHOR_FSYNC`` is off (a throwaway database's)."""
    durable = getattr(settings, "AUDIT_ANCHOR_FSYNC", True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"chain": anchor.chain, "id": anchor.id, "hash": anchor.hash}) + "\n")
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if not durable:
        return
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def advance_anchor(
    entry_id: int, entry_hash: str, chain: str | None = None, *, take_over: bool = False
) -> bool:
    """Move the anchor forward to a committed entry of ``chain`` (default: this database's); never
    back. True if the file was written.

    Commits of several processes may finish in any order; the lock and the comparison under it
    keep the anchor at the highest id any of them reported. The anchor of another chain is left
    alone (a warning is logged) unless ``take_over``; a legacy anchor (no chain id) is compared as
    before and names the chain once written.
    """
    chain = chain or current_chain_id()
    path = anchor_path()
    if chain is None:
        logger.error(
            "the audit log has no entry 1: the anchor %s is left alone; run `banyan audit verify`", path
        )
        return False
    with _anchor_lock(path):
        current = read_anchor(path)
        if current is not None and current.chain is not None and current.chain != chain:
            if not take_over:
                logger.warning(
                    "the audit anchor %s belongs to another audit chain (%s), not this database's (%s): "
                    "left alone, so this chain's end is not anchored; give each database its own "
                    "BANYAN_AUDIT_ANCHOR, or run `banyan audit anchor`",
                    path,
                    current.chain,
                    chain,
                )
                return False
        elif current is not None and current.id >= entry_id:
            if current.id == entry_id and current.hash != entry_hash:
                logger.warning(
                    "the audit anchor %s records entry %d with another hash; run `banyan audit verify`",
                    path,
                    entry_id,
                )
            return False
        _write_anchor(path, Anchor(entry_id, entry_hash, chain))
        return True


def _advance_anchor_after_commit(last: Anchor, *, take_over: bool = False) -> None:
    """The on-commit side of :func:`record`: a failure is logged, and the commit stands."""
    try:
        advance_anchor(last.id, last.hash, last.chain, take_over=take_over)
    except (OSError, AnchorError) as exc:
        logger.error("could not advance the audit anchor %s to entry %d: %s", anchor_path(), last.id, exc)


@dataclass(frozen=True)
class Reanchored:
    previous: Anchor | None
    current: Anchor


def reanchor(*, actor: Actor | str | None) -> Reanchored:
    """Rewrite the anchor from the current head, backwards if need be, and audit doing so.

    For an operator who has checked the chain, e.g. after restoring a database backup (the
    anchor is then ahead of the chain), or to anchor this database's chain in place of another
    chain's anchor. Refuses with :class:`ChainBroken` unless the chain verifies without the
    anchor. The entry ``audit.anchor`` names the anchor id it replaced, and its chain if that was
    another one.
    """
    result = verify(use_anchor=False, _check=_rekey_check(vault.audit_keys()))
    if not result.ok:
        raise ChainBroken(result)
    try:
        previous = read_anchor()
    except AnchorError:
        previous = None
    details: dict[str, int | str | None] = {"previous_anchor_id": previous.id if previous else None}
    with transaction.atomic(durable=True):
        chain = current_chain_id()
        if previous is not None and previous.chain is not None and previous.chain != chain:
            details["previous_anchor_chain"] = previous.chain
        record(
            actor=actor,
            events=[Event(AuditAction.AUDIT_ANCHOR, "audit", "anchor", details=details)],
            _take_over_anchor=True,
        )
        chain = current_chain_id()  # an empty log has just begun its chain
    path = anchor_path()
    with _anchor_lock(path):
        # Read under the lock: an append committed meanwhile is in the head, or advances after us.
        head = ChainHead.objects.get(pk=1)
        current = Anchor(head.last_id, head.last_hash, chain)
        _write_anchor(path, current)
    return Reanchored(previous, current)


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()
    anchored_id: int | None = None
    other_chain: bool = False  # the chain verifies, but the anchor is another chain's (not tampering)


class ChainBroken(Exception):
    def __init__(self, result: VerifyResult):
        super().__init__(result.reason)
        self.result = result


def _entries() -> Iterator[AuditEntry]:
    yield from AuditEntry.objects.order_by("id").iterator(chunk_size=2000)


def _registry_holds_data() -> bool:
    """Whether places or people hold rows (looked up by name: audit does not import them)."""
    for label in ("places.Region", "people.Resident"):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if model._base_manager.exists():
            return True
    return False


ALTERED = "its contents do not match its hash (altered)"
UNKEYED = (
    "its hash is plain SHA-256, not made with the audit key: forged by someone without the key, "
    "or written before the chain was keyed (then `banyan audit rekey` re-chains it)"
)


def _keyed_check(key: bytes) -> Callable[[AuditEntry], str | None]:
    """Every entry must be hashed with the current audit key."""

    def check(entry: AuditEntry) -> str | None:
        if hmac.compare_digest(compute_hash(entry, key), entry.hash):
            return None
        if hmac.compare_digest(unkeyed_hash(entry), entry.hash):
            return UNKEYED
        return ALTERED

    return check


def _rekey_check(keys: tuple[bytes, ...]) -> Callable[[AuditEntry], str | None]:
    """What ``rekey`` accepts: entries under any configured audit key, and unkeyed (SHA-256) entries
    only before the first keyed one — the chain as it was before the upgrade. An unkeyed entry after
    a keyed one can only be a forgery."""
    keyed_seen = False

    def check(entry: AuditEntry) -> str | None:
        nonlocal keyed_seen
        if any(hmac.compare_digest(compute_hash(entry, key), entry.hash) for key in keys):
            keyed_seen = True
            return None
        if hmac.compare_digest(unkeyed_hash(entry), entry.hash):
            if keyed_seen:
                return "its hash is plain SHA-256 but entries before it are keyed: forged without the key"
            return None
        return ALTERED

    return check


def verify(
    *, use_anchor: bool = True, _check: Callable[[AuditEntry], str | None] | None = None
) -> VerifyResult:
    """Recompute the chain. The first entry that does not fit is named, with the reason.

    The anchor and the head are read before the entries, so entries appended while this runs
    are checked like the others but need not match them. Without an anchor file everything
    else is checked and a note says that the end of the chain is not anchored. An anchor naming
    another chain than entry 1's is not compared: once the chain verifies on its own, the result
    says so (``other_chain``). An empty log has no chain id: the anchor of a chain is then another
    database's unless the registry holds data (a log emptied while places or people remain).
    """
    notes: list[str] = []
    anchor = None
    if use_anchor:
        path = anchor_path()
        try:
            anchor = read_anchor(path)
        except AnchorError as exc:
            return VerifyResult(False, 0, None, f"the anchor file {path} is unusable: {exc}")
        if anchor is None:
            notes.append(f"no anchor file at {path}; the end of the chain is not anchored")
    head = ChainHead.objects.filter(pk=1).first()
    head_id, head_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)

    check = _check or _keyed_check(vault.audit_keys()[0])
    prev = GENESIS
    expected_id = 1
    checked = 0
    chain = None
    other_chain = False
    for entry in _entries():
        if entry.id != expected_id:
            return VerifyResult(
                False, checked, expected_id, f"entry {expected_id} is missing (found {entry.id})"
            )
        if entry.prev_hash != prev:
            return VerifyResult(
                False, checked, entry.id, "its previous-hash link does not match the entry before it"
            )
        problem = check(entry)
        if problem:
            return VerifyResult(False, checked, entry.id, problem)
        if entry.id == head_id and entry.hash != head_hash:
            return VerifyResult(False, checked, entry.id, f"entry {entry.id} does not match the head")
        if entry.id == 1:  # checked above: its contents, and so the chain id, are genuine
            chain = chain_id_of(entry)
            other_chain = anchor is not None and anchor.chain is not None and anchor.chain != chain
        if anchor is not None and not other_chain and entry.id == anchor.id and entry.hash != anchor.hash:
            return VerifyResult(False, checked, entry.id, f"entry {entry.id} does not match the anchor")
        prev = entry.hash
        expected_id += 1
        checked += 1

    if head_id > checked:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"the chain ends at entry {checked} but the head records entry {head_id} "
            "(entries removed from the end)",
        )
    if checked and not ChainHead.objects.filter(pk=1).exists():
        return VerifyResult(False, checked, None, "the chain head is missing")
    if anchor is not None and anchor.chain is not None and checked == 0 and not _registry_holds_data():
        other_chain = True
    if other_chain and anchor is not None:  # other_chain implies an anchor
        ours = f"this database's chain is {chain}" if chain else "this database's audit log is empty"
        return VerifyResult(
            False,
            checked,
            None,
            f"the anchor {path} belongs to another audit chain ({anchor.chain}, entry {anchor.id}); {ours}",
            other_chain=True,
        )
    if anchor is not None and anchor.id > checked:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"entries up to {anchor.id} were recorded by the anchor but the chain ends at {checked}: "
            "removed from the end",
        )
    if checked == 0 and _registry_holds_data():
        return VerifyResult(False, 0, None, "the audit log is empty but the registry holds data")
    return VerifyResult(True, checked, notes=tuple(notes), anchored_id=anchor.id if anchor else None)


# --- re-keying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rekeyed:
    entries: int
    rehashed: int
    marker: AuditEntry


def rekey(*, actor: Actor | str | None) -> Rekeyed:
    """Re-chain the whole log under the current audit key, and audit doing so.

    For the one-time upgrade from the unkeyed chain (entries hashed with plain SHA-256) and for
    a key rotation (the old key second in ``BANYAN_AUDIT_KEY`` or the key file). Under the chain
    lock it first verifies the chain as it stands — gap-free ids, links, head and anchor; each
    hash under one of the configured keys, or unkeyed SHA-256 but only before the first keyed
    entry — and refuses with :class:`ChainBroken` naming the first entry that does not fit. Then
    it recomputes every hash and link with the current key, moves the head, and appends
    ``audit.rekey`` (entries checked, hashes rewritten); the anchor follows after the commit.
    """
    keys = vault.audit_keys()
    key = keys[0]
    with transaction.atomic(durable=True):
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        result = verify(_check=_rekey_check(keys))  # under the lock: nothing is appended meanwhile
        if not result.ok:
            raise ChainBroken(result)
        prev = GENESIS
        count = rehashed = 0
        changed: list[AuditEntry] = []
        for entry in _entries():
            old = entry.hash
            entry.prev_hash = prev
            entry.hash = compute_hash(entry, key)
            if entry.hash != old:
                changed.append(entry)
            prev = entry.hash
            count += 1
            if len(changed) >= 500:
                AuditEntry.objects.bulk_update(changed, ["prev_hash", "hash"])
                rehashed += len(changed)
                changed = []
        if changed:
            AuditEntry.objects.bulk_update(changed, ["prev_hash", "hash"])
            rehashed += len(changed)
        head.last_id, head.last_hash = count, prev
        head.save(update_fields=["last_id", "last_hash"])
        marker = record_one(
            actor=actor,
            action=AuditAction.AUDIT_REKEY,
            subject_type="audit",
            subject_id="chain",
            details={"entries": count, "rehashed": rehashed},
        )
    return Rekeyed(count, rehashed, marker)


# --- reading the log: the audit page and its export ------------------------------------------------
# For auditors and platform administrators (``Action.VIEW_AUDIT``): the log holds no personal values
# (ids, field names, purposes), so it is shown whole, in words. The views in banyan/audit/views.py.

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class EntryFilters:
    """Which entries the audit page and its export show; empty means any. ``since`` and ``until`` are
    days in the community's time zone, both included."""

    action: str = ""
    actor: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    purpose: str = ""

    def as_details(self) -> dict[str, str]:
        """The filters used, for the export's own audit entry. A value shaped like an ID number or a
        phone number (someone typed one into a filter) is left out: the log keeps no personal values."""
        used = {name: str(value) for name, value in self.__dict__.items() if value not in ("", None)}
        return {name: value for name, value in used.items() if not looks_personal(value)}


def _accounts_named(text: str):
    """The ids of the accounts whose username is ``text`` or whose name holds it (family name first or
    not): auditors know people by name. The account model is Django's (audit sits below people)."""
    squeezed = re.sub(r"\s+", "", text)
    accounts = get_user_model()._default_manager.annotate(
        family_first=Concat("last_name", Value(""), "first_name"),
        given_first=Concat("first_name", Value(""), "last_name"),
    )
    return accounts.filter(
        Q(username__iexact=text) | Q(family_first__icontains=squeezed) | Q(given_first__icontains=squeezed)
    ).values("pk")


def entries_matching(filters: EntryFilters) -> QuerySet[AuditEntry]:
    """The entries that match ``filters``, newest first."""
    entries = AuditEntry.objects.all()
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.actor:
        entries = entries.filter(
            Q(actor__iexact=filters.actor) | Q(actor_id__in=_accounts_named(filters.actor))
        )
    if filters.subject_type:
        entries = entries.filter(subject_type=filters.subject_type)
    if filters.subject_id:
        entries = entries.filter(subject_id=filters.subject_id)
    zone = timezone.get_default_timezone()
    if filters.since:
        entries = entries.filter(at__gte=dt.datetime.combine(filters.since, dt.time.min, tzinfo=zone))
    if filters.until:
        end = filters.until + dt.timedelta(days=1)
        entries = entries.filter(at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=zone))
    if filters.purpose:
        entries = entries.filter(purpose__icontains=filters.purpose)
    return entries.order_by("-id")


@dataclass(frozen=True)
class EntryRow:
    """One entry in words, for the audit page and its export: who (a person's name, family name first in
    Chinese, and role; or the service that acted), what, on what, and the details by name."""

    entry: AuditEntry
    who: str
    role: str
    what: str
    subject: str
    subject_id: str
    details: tuple[tuple[str, str], ...]


def person_name(first_name: str, last_name: str, username: str) -> str:
    """A person's name as they are called: "刘桂香" (family name first, no space) in Chinese, "Ann Lee"
    otherwise; the username when the account has no name."""
    if _CJK.search(first_name + last_name):
        return f"{last_name}{first_name}"
    return f"{first_name} {last_name}".strip() or username


def _service_label(actor: str) -> str:
    if actor in ACTOR_LABELS:
        return str(ACTOR_LABELS[actor])
    prefix, colon, name = actor.partition(":")
    if colon and f"{prefix}:" in ACTOR_LABELS:
        return str(ACTOR_LABELS[f"{prefix}:"]) % {"name": name}
    return actor


class _Words:
    """The labels in the current language, translated once per :func:`describe_entries` call (an export
    describes thousands of entries)."""

    def __init__(self) -> None:
        self.actions = {action.value: str(label) for action, label in ACTION_LABELS.items()}
        self.subjects = {key: str(label) for key, label in SUBJECT_LABELS.items()}
        self.subject_ids = {key: str(label) for key, label in SUBJECT_ID_LABELS.items()}
        self.details = {key: str(label) for key, label in DETAIL_LABELS.items()}
        self.fields = {key: str(label) for key, label in FIELD_LABELS.items()}
        self.grades = {key: str(label) for key, label in GRADE_LABELS.items()}
        self.roles = {value: str(label) for value, label in Role.choices}
        self.values = {key: str(label) for key, label in VALUE_LABELS.items()}
        self.yes, self.no = _("yes"), _("no")
        self.separator = pgettext("list separator", ", ")

    def value(self, key: str, value: object) -> str:
        if key in FIELD_DETAILS and isinstance(value, str | list):
            values = value if isinstance(value, list) else [value]
            return self.separator.join(self.fields.get(str(v), str(v)) for v in values)
        if key == "grade" and isinstance(value, str):
            return self.grades.get(value, value)
        if key == "role" and isinstance(value, str):
            return self.roles.get(value, value)
        if isinstance(value, str) and (key, value) in self.values:
            return self.values[key, value]
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, list):
            return self.separator.join(self.value("", v) for v in value)
        if isinstance(value, dict):
            return self.separator.join(
                f"{self.details.get(k, k)}: {self.value(k, v)}" for k, v in value.items()
            )
        return "" if value is None else str(value)


def describe_entries(entries: Iterable[AuditEntry]) -> list[EntryRow]:
    """``entries`` in words, with one query for the names of the accounts that acted."""
    entries = list(entries)
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    accounts = {
        account.pk: account
        for account in get_user_model()
        ._default_manager.filter(pk__in=ids)
        .only("pk", "username", "first_name", "last_name", "role")
    }
    words = _Words()
    rows = []
    for entry in entries:
        account = accounts.get(entry.actor_id) if entry.actor_id is not None else None
        if account is not None:
            name = person_name(
                getattr(account, "first_name", ""), getattr(account, "last_name", ""), account.get_username()
            )
            role = getattr(account, "role", "")
            role_label = words.roles.get(role, role)
        elif entry.actor_id is not None:  # an account since removed: its username as recorded
            name, role_label = entry.actor, ""
        else:
            name, role_label = _service_label(entry.actor), ""
        details = tuple(
            (words.details.get(key, str(key)), words.value(key, value))
            for key, value in (entry.details.items() if isinstance(entry.details, dict) else ())
            if key not in HIDDEN_DETAILS
        )
        rows.append(
            EntryRow(
                entry=entry,
                who=name,
                role=role_label,
                what=words.actions.get(entry.action, entry.action),
                subject=words.subjects.get(entry.subject_type, entry.subject_type),
                subject_id=words.subject_ids.get(entry.subject_id, entry.subject_id),
                details=details,
            )
        )
    return rows


# --- the chain's state on the audit page -----------------------------------------------------------
# A full verification reads every entry: 10 000 entries took 0.2 s on SQLite on a quiet machine, 0.4 to
# 1.2 s on PostgreSQL on a busy one (load 5 to 7 on 2 cores). The page shows the last result for
# CHAIN_STATE_MAX_AGE (kept in Django's cache), then verifies again; above VERIFY_ON_PAGE_MAX entries
# it verifies only when asked ("verify now"), so the page stays fast.

CHAIN_STATE_KEY = "banyan:audit:chain-state"
CHAIN_STATE_MAX_AGE = dt.timedelta(minutes=10)
VERIFY_ON_PAGE_MAX = 50_000


@dataclass(frozen=True)
class ChainState:
    """The last verification (``None``: not yet, the log being too long to verify unasked), when it ran
    and how long it took, and the number of entries now (entries after ``result.checked`` came later)."""

    result: VerifyResult | None
    checked_at: dt.datetime | None
    seconds: float
    entries_now: int


def chain_state(*, refresh: bool = False) -> ChainState:
    """The chain's verification state for the audit page: the cached result while it is younger than
    :data:`CHAIN_STATE_MAX_AGE`, else a new :func:`verify` (unless the log holds more than
    :data:`VERIFY_ON_PAGE_MAX` entries); ``refresh`` verifies now whatever the size."""
    head = ChainHead.objects.filter(pk=1).first()
    entries_now = head.last_id if head else 0
    cached = cache.get(CHAIN_STATE_KEY)
    fresh = isinstance(cached, ChainState) and cached.checked_at is not None
    if not refresh and fresh and clock.now() - cached.checked_at < CHAIN_STATE_MAX_AGE:
        return ChainState(cached.result, cached.checked_at, cached.seconds, entries_now)
    if not refresh and entries_now > VERIFY_ON_PAGE_MAX:  # the last result however old, or none
        if fresh:
            return ChainState(cached.result, cached.checked_at, cached.seconds, entries_now)
        return ChainState(None, None, 0.0, entries_now)
    started = time.perf_counter()
    result = verify()
    state = ChainState(result, clock.now(), time.perf_counter() - started, entries_now)
    cache.set(CHAIN_STATE_KEY, state, timeout=None)
    return state


_BREAKS: list[tuple[re.Pattern[str], Promise]] = [
    (
        re.compile(re.escape(ALTERED)),
        gettext_lazy("Entry %(id)s was altered: its contents do not match its hash."),
    ),
    (
        re.compile(r"^its hash is plain SHA-256"),
        gettext_lazy(
            "Entry %(id)s is not sealed with the audit key: forged by someone without the key, or written "
            "before the log was keyed."
        ),
    ),
    (
        re.compile(r"^entry \d+ is missing \(found (?P<found>\d+)\)"),
        gettext_lazy("Entry %(id)s is missing: the next entry found is %(found)s."),
    ),
    (
        re.compile(r"^its previous-hash link"),
        gettext_lazy(
            "Entry %(id)s does not link to the entry before it: an entry was removed, inserted or altered."
        ),
    ),
    (
        re.compile(r"does not match the head$"),
        gettext_lazy("Entry %(id)s does not match the log's head record."),
    ),
    (
        re.compile(r"does not match the anchor$"),
        gettext_lazy("Entry %(id)s does not match the anchor kept outside the database."),
    ),
    (
        re.compile(r"^the chain ends at entry (?P<end>\d+) but the head records entry (?P<head>\d+)"),
        gettext_lazy(
            "The log ends at entry %(end)s but its head records entry %(head)s: entries were removed from "
            "the end."
        ),
    ),
    (
        re.compile(
            r"^entries up to (?P<head>\d+) were recorded by the anchor but the chain ends at (?P<end>\d+)"
        ),
        gettext_lazy(
            "The anchor recorded entries up to %(head)s but the log ends at entry %(end)s: entries were "
            "removed from the end."
        ),
    ),
    (re.compile(r"^the chain head is missing"), gettext_lazy("The log's head record is missing.")),
    (
        re.compile(r"^the audit log is empty but the registry holds data"),
        gettext_lazy("The audit log is empty although the registry holds data: the log was emptied."),
    ),
    (
        re.compile(r"^the anchor file .* is unusable"),
        gettext_lazy("The anchor file outside the database cannot be read or is damaged."),
    ),
]


def describe_break(result: VerifyResult) -> str:
    """Why the chain does not verify, in the reader's language (``verify`` states it in English for the
    command line and the server log)."""
    if result.other_chain:
        return _(
            "The anchor file belongs to another audit log (another database): the end of this log is not "
            "anchored. The entries themselves verify."
        )
    for pattern, text in _BREAKS:
        match = pattern.search(result.reason)
        if match:
            return str(text) % {"id": result.bad_id, **match.groupdict()}
    return _("The audit log does not verify: %(reason)s") % {"reason": result.reason}


# --- export -----------------------------------------------------------------------------------------
# A spreadsheet (XLSX) or plain text (CSV, UTF-8 with a byte-order mark for Excel). 10 000 entries took
# 2 s as XLSX (openpyxl) and 0.5 s as CSV on PostgreSQL on a busy machine (load 5 on 2 cores): hence two
# limits, both within what one request should take.

EXPORT_LIMITS = {"xlsx": 20_000, "csv": 100_000}
EXPORT_CONTENT_TYPES = {"xlsx": XLSX_CONTENT_TYPE, "csv": "text/csv; charset=utf-8"}
_FORMULA_STARTS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Export:
    content: bytes
    rows: int
    file_format: str

    @property
    def content_type(self) -> str:
        return EXPORT_CONTENT_TYPES[self.file_format]


def _export_rows(entries: QuerySet[AuditEntry]) -> Iterator[list]:
    """The header, then one row an entry: in words first, then the codes and hash as recorded."""
    yield [
        _("Entry"),
        _("Time"),
        _("Who"),
        _("Role"),
        _("Action"),
        _("On what"),
        _("Number"),
        _("Purpose"),
        _("Details"),
        _("Action code"),
        _("Subject code"),
        _("Account"),
        _("Request"),
        _("Hash"),
    ]
    separator = pgettext("list separator", ", ")
    zone = timezone.get_default_timezone()
    chunk: list[AuditEntry] = []
    for entry in itertools.chain(entries.iterator(chunk_size=2000), [None]):
        if entry is not None:
            chunk.append(entry)
            if len(chunk) < 2000:
                continue
        for row in describe_entries(chunk):
            recorded = row.entry
            yield [
                recorded.id,
                recorded.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                row.who,
                row.role,
                row.what,
                row.subject,
                row.subject_id,
                recorded.purpose,
                separator.join(f"{label}: {text}" for label, text in row.details),
                recorded.action,
                recorded.subject_type,
                recorded.actor,
                recorded.request_id,
                recorded.hash,
            ]
        chunk = []


def _xlsx(rows: Iterator[list]) -> bytes:
    """A workbook; text stays text even when it starts like a formula, control characters go."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Audit log")[:31])
    widths = (8, 20, 16, 14, 24, 16, 12, 30, 40, 22, 16, 16, 34, 66)
    for letter, width in zip("ABCDEFGHIJKLMN", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = _CONTROL_CHARACTERS.sub("", value)
                if value.startswith(_FORMULA_STARTS):
                    value = WriteOnlyCell(sheet, value)
                    value.data_type = "s"
            cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows: Iterator[list]) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads Chinese right); a text starting like a formula
    gets a leading apostrophe, as spreadsheets expect, so that opening the file runs nothing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = _CONTROL_CHARACTERS.sub("", value)
                if value.startswith(_FORMULA_STARTS):
                    value = "'" + value
            cells.append(value)
        writer.writerow(cells)
    return ("\ufeff" + buffer.getvalue()).encode()


def export_entries(*, actor: Actor, filters: EntryFilters, file_format: str = "xlsx") -> Export:
    """The entries matching ``filters``, newest first, as ``xlsx`` or ``csv``: in words, with the recorded
    codes and hashes beside them. Exporting is itself audited (``audit.export``: the format, the number
    of entries and the filters). More entries than the format's :data:`EXPORT_LIMITS` are refused
    (``InvalidInput``): narrower filters split them."""
    if not can(actor, Action.VIEW_AUDIT):
        raise PermissionDenied(_("Your role may not read the audit log."))
    if file_format not in EXPORT_LIMITS:
        raise InvalidInput(_("Export as a spreadsheet or as plain text."), field="format")
    entries = entries_matching(filters)
    # Entries are only appended, with gap-free ids: up to the newest one now, the export and its count
    # agree, whatever is recorded meanwhile.
    entries = entries.filter(id__lte=entries.values_list("id", flat=True).first() or 0)
    count, limit = entries.count(), EXPORT_LIMITS[file_format]
    if count > limit:
        if file_format == "xlsx":
            message = _(
                "%(count)d entries match, but a spreadsheet holds at most %(limit)d: narrow the dates or "
                "another filter, or export them as plain text."
            )
        else:
            message = _(
                "%(count)d entries match, but an export holds at most %(limit)d: narrow the dates or "
                "another filter."
            )
        raise InvalidInput(message % {"count": count, "limit": limit}, field="since")
    content = (_xlsx if file_format == "xlsx" else _csv)(_export_rows(entries))
    record_one(
        actor=actor,
        action=AuditAction.AUDIT_EXPORT,
        subject_type="audit",
        subject_id="log",
        details={"format": file_format, "rows": count, "filters": filters.as_details()},
    )
    return Export(content, count, file_format)
