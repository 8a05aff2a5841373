"""Writing and verifying the audit chain.

``record`` appends entries under a row lock on :class:`ChainHead`, so concurrent writers on
PostgreSQL (and SQLite's single writer) produce one unbroken chain. ``verify`` recomputes
every hash and link and reports the first entry that does not fit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction

from banyan.audit.models import AuditEntry, ChainHead
from banyan.core import clock, context

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    action: str
    subject_type: str
    subject_id: str | int
    purpose: str = ""
    details: dict = field(default_factory=dict)


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


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _actor_columns(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.pk, actor.get_username()


def record(*, actor, events: Iterable[Event]) -> list[AuditEntry]:
    """Append ``events`` to the chain in the caller's transaction (or a new one)."""
    events = list(events)
    if not events:
        return []
    actor_id, actor_name = _actor_columns(actor)
    request_id = context.current_request_id()
    at = clock.now()
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        entries = []
        prev = head.last_hash
        next_id = head.last_id
        for event in events:
            next_id += 1
            entry = AuditEntry(
                id=next_id,
                at=at,
                actor_id=actor_id,
                actor=actor_name,
                action=event.action,
                subject_type=event.subject_type,
                subject_id=str(event.subject_id),
                purpose=event.purpose,
                request_id=request_id,
                details=event.details,
                prev_hash=prev,
            )
            entry.hash = compute_hash(entry)
            prev = entry.hash
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        head.last_id, head.last_hash = next_id, prev
        head.save(update_fields=["last_id", "last_hash"])
    return entries


def record_one(*, actor, action: str, subject_type: str, subject_id, purpose: str = "", details=None):
    return record(
        actor=actor,
        events=[Event(action, subject_type, subject_id, purpose, details or {})],
    )[0]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def _entries() -> Iterator[AuditEntry]:
    yield from AuditEntry.objects.order_by("id").iterator(chunk_size=2000)


def verify() -> VerifyResult:
    """Recompute the chain. The first entry that does not fit is named, with the reason."""
    prev = GENESIS
    expected_id = 1
    checked = 0
    for entry in _entries():
        if entry.id != expected_id:
            return VerifyResult(
                False, checked, expected_id, f"entry {expected_id} is missing (found {entry.id})"
            )
        if entry.prev_hash != prev:
            return VerifyResult(
                False, checked, entry.id, "its previous-hash link does not match the entry before it"
            )
        if compute_hash(entry) != entry.hash:
            return VerifyResult(False, checked, entry.id, "its contents do not match its hash (altered)")
        prev = entry.hash
        expected_id += 1
        checked += 1
    head = ChainHead.objects.filter(pk=1).first()
    last_id, last_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    if last_id != checked or last_hash != prev:
        return VerifyResult(
            False,
            checked,
            checked + 1 if last_id > checked else last_id,
            f"the chain ends at entry {checked} but the head records entry {last_id} "
            "(entries removed from the end)",
        )
    return VerifyResult(True, checked)
