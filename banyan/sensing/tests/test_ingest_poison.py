"""A message the worker cannot process is dead-lettered; the rest of its batch is stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import OperationalError

from banyan.sensing.ingest.worker import write_one_by_one
from banyan.sensing.ingest.writer import BatchWriter
from banyan.sensing.models import DeadLetter, Device, Reading


class PoisonedWriter(BatchWriter):
    """Fails on any message whose payload holds the word "poison", as a bug would."""

    def write(self, messages):
        if any(b"poison" in payload for _topic, payload in messages):
            raise ValueError("cannot process")
        return super().write(messages)


def _message(device: Device, value: float, seconds: int) -> tuple[str, bytes]:
    ts = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    body = {"metric": "water_level_cm", "value": value, "ts": ts.isoformat()}
    return f"banyan/{device.community.code}/devices/{device.code}/readings", json.dumps(body).encode()


@pytest.fixture
def device(db):
    return Device.objects.filter(kind="water_level").select_related("community").order_by("code").first()


def test_poison_message_is_dead_lettered_and_the_others_are_stored(device):
    good = [_message(device, 10.0, 1), _message(device, 11.0, 2)]
    poison = (good[0][0], b'{"poison": true}')
    before = Reading.objects.filter(device=device).count()
    result = write_one_by_one(PoisonedWriter(), [good[0], poison, good[1]])
    assert (result.accepted, result.dead_letters) == (2, 1)
    assert Reading.objects.filter(device=device).count() == before + 2
    letter = DeadLetter.objects.order_by("-id").first()
    assert (letter.reason, letter.detail, letter.topic) == ("processing_error", "ValueError", poison[0])


def test_database_errors_are_not_dead_lettered(device):
    class BrokenDatabase(BatchWriter):
        def write(self, messages):
            raise OperationalError("database is locked")

    before = DeadLetter.objects.count()
    with pytest.raises(OperationalError):
        write_one_by_one(BrokenDatabase(), [_message(device, 10.0, 1)])
    assert DeadLetter.objects.count() == before
