"""``banyan bench care``: the daily check-in SMS for N vulnerable residents, queued, and their replies.

:func:`prepare_and_run` migrates a fresh database (a SQLite file in a temporary folder unless a URL is
given) and seeds the synthetic community with ``banyan seed``; then, in a second process pointed at
it, :func:`measure` makes N residents vulnerable (an active care profile, a phone of their own, a care
plan whose first channel is SMS, check-in at 9:00, an hour of grace) and on a simulated clock at 9:05:

* **queued**: one :func:`~banyan.care.daily.send_daily_checkins` round — N check-in requests and N SMS
  messages with their deliveries queued for the gateway (what the worker does when 9:00 comes);
* **replies**: every resident answers ``{"channel": "sms", "from": PHONE, "text": "1"}`` (every 100th
  says "2", need help, which opens an incident at once), forwarded by the gateway 500 at a time to
  ``POST /api/v1/notify/inbound/batch`` with the gateway token, one post after the other through Django's
  whole request path in-process (middleware, token check, the schema, matching by the phone's blind
  index, the check-ins, one audit entry each); no network.

Both are timed on the wall clock; the result says whether each met its goal (10 s, 60 s for 10,000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from banyan.core.clock import SystemClock

WALL = SystemClock()
QUEUE_GOAL_S = 10.0
REPLY_GOAL_S = 60.0
NEED_HELP_EVERY = 100
BATCH = 500  # replies a gateway forwards in one post (the most /notify/inbound/batch takes)
# 9:05 in Shanghai on a day the seed's data knows nothing of.
NINE_OH_FIVE = dt.datetime(2026, 12, 8, 1, 5, tzinfo=dt.UTC)


def prepare_and_run(*, residents: int, json_file: str | None, database_url: str | None) -> dict:
    """A fresh database with the synthetic community, then the measuring process; returns its result."""
    with tempfile.TemporaryDirectory(prefix="banyan-bench-care-") as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite3",
            "BANYAN_VAR_DIR": str(folder),
            "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
            "BANYAN_LOG_LEVEL": "ERROR",
            "BANYAN_GATEWAY_TOKEN": secrets.token_urlsafe(24),
        }
        banyan = [sys.executable, "-m", "banyan"]
        subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True)
        subprocess.run(
            [
                *banyan,
                "seed",
                "--residents",
                str(residents),
                "--seed",
                "14",
                "--demo-password",
                "bench-pass-2026",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        out = folder / "result.json"
        command = [*banyan, "bench", "care", "--inner", "--residents", str(residents), "--json", str(out)]
        subprocess.run(command, env=env, check=True)
        result = json.loads(out.read_text())
    if json_file:
        Path(json_file).write_text(json.dumps(result) + "\n")
    return result


def _make_vulnerable(count: int) -> list[str]:
    """``count`` residents with an active care profile, a phone each and an SMS-first plan; their phones."""
    from banyan.care.models import CarePlan
    from banyan.core import clock, vault
    from banyan.people.choices import CareKind
    from banyan.people.models import CareProfile, Resident

    residents = list(Resident.objects.order_by("id")[:count])
    if len(residents) < count:
        raise RuntimeError(f"the seed made {len(residents)} residents, fewer than {count}")
    in_care = set(
        CareProfile.objects.filter(is_active=True, resident__in=residents).values_list(
            "resident_id", flat=True
        )
    )
    CareProfile.objects.bulk_create(
        [
            CareProfile(resident=r, kind=CareKind.ELDERLY_ALONE, since=dt.date(2026, 1, 1))
            for r in residents
            if r.pk not in in_care
        ],
        ignore_conflicts=True,
    )
    phones = []
    for index, resident in enumerate(residents):
        phone = f"139{index:08d}"
        resident.phone = phone
        resident.phone_index = vault.blind_index("phone", phone)
        phones.append(phone)
    Resident.objects.bulk_update(residents, ["phone", "phone_index"], batch_size=1000)
    Resident.objects.exclude(pk__in=[r.pk for r in residents]).update(phone="", phone_index="")
    CarePlan.objects.all().delete()
    now = clock.now()
    CarePlan.objects.bulk_create(
        [
            CarePlan(
                resident=r,
                care_kind=CareKind.ELDERLY_ALONE,
                checker_kind="grid_worker",
                checkin_time=dt.time(9, 0),
                grace_minutes=60,
                channels=["sms", "voice", "carer"],
                created_at=now,
                updated_at=now,
            )
            for r in residents
        ],
        batch_size=1000,
    )
    return phones


def measure(*, residents: int, json_file: str, machine: str) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from banyan.care.daily import send_daily_checkins
    from banyan.care.models import CheckIn, CheckInRequest
    from banyan.core import clock
    from banyan.notify.models import Delivery

    with clock.use(clock.SimulatedClock(NINE_OH_FIVE - dt.timedelta(days=1))):
        phones = _make_vulnerable(residents)
    # What the setup wrote is checkpointed into the database file first (SQLite's write-ahead log), as a
    # worker that has been running a while would find it; then a new connection.
    if not connection.in_atomic_block:  # (a test's transaction stays open)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    with clock.use(clock.SimulatedClock(NINE_OH_FIVE)):
        started = WALL.now()
        asked = send_daily_checkins()
        queue_s = (WALL.now() - started).total_seconds()
        queued = Delivery.objects.filter(status="queued", channel="sms").count()
        client = Client(HTTP_HOST="127.0.0.1")
        auth = f"Bearer {settings.BANYAN_NOTIFY['GATEWAY_TOKEN']}"
        answers: dict[str, int] = {}
        refused = 0
        started = WALL.now()
        messages = [
            {
                "channel": "sms",
                "from": phone,
                "text": "2" if index % NEED_HELP_EVERY == NEED_HELP_EVERY - 1 else "1",
                "id": f"bench-{index}",
            }
            for index, phone in enumerate(phones)
        ]
        for first in range(0, len(messages), BATCH):
            batch = messages[first : first + BATCH]
            response = client.post(
                "/api/v1/notify/inbound/batch",
                {"messages": batch},
                content_type="application/json",
                HTTP_AUTHORIZATION=auth,
            )
            if response.status_code != 200:
                refused += len(batch)
                continue
            for item in response.json()["items"]:
                answers[item["status"]] = answers.get(item["status"], 0) + 1
        reply_s = (WALL.now() - started).total_seconds()
    result = {
        "residents": residents,
        "backend": connection.vendor,
        "requests_sent": asked,
        "sms_queued": queued,
        "queue_s": round(queue_s, 2),
        "queue_goal_s": QUEUE_GOAL_S,
        "queue_goal_met": asked == residents and queue_s < QUEUE_GOAL_S,
        "replies": len(phones),
        "replies_by_status": answers,
        "replies_refused": refused,
        "checkins_recorded": CheckIn.objects.count(),
        "need_help_incidents": CheckIn.objects.filter(incident__isnull=False).count(),
        "requests_answered": CheckInRequest.objects.filter(answered_at__isnull=False).count(),
        "reply_s": round(reply_s, 2),
        "replies_per_s": round(len(phones) / reply_s, 1) if reply_s else None,
        "reply_goal_s": REPLY_GOAL_S,
        "reply_goal_met": answers.get("recorded", 0) == residents and reply_s < REPLY_GOAL_S,
        "machine": machine,
    }
    Path(json_file).write_text(json.dumps(result) + "\n")
    return result
