import datetime as dt

import pytest
from django.db import connection

from banyan.audit.models import AuditEntry
from banyan.core import clock


def test_simulated_clock_moves_only_when_told():
    start = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)
    with clock.use(clock.SimulatedClock(start)) as simulated:
        assert clock.now() == start
        simulated.advance(dt.timedelta(hours=6))
        assert clock.now() == start + dt.timedelta(hours=6)
        assert clock.today() == dt.date(2026, 7, 1)
        simulated.advance(10 * 3600)
        assert clock.today() == dt.date(2026, 7, 2)  # 00:00 in Hangzhou
        with pytest.raises(ValueError):
            simulated.advance(-1)
    assert clock.now() != start + dt.timedelta(hours=16)


def test_simulated_clock_needs_aware_time():
    with pytest.raises(ValueError):
        clock.SimulatedClock(dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_audit_entries_take_time_from_the_clock(api, users):
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__grid=users["grid01"].region).first()
    frozen = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with clock.use(clock.SimulatedClock(frozen)):
        api("grid01").post(f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": "走访联系"})
    assert AuditEntry.objects.order_by("-id").first().at == frozen


def test_request_id_reaches_the_audit_entry(api, users):
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__grid=users["grid01"].region).first()
    client = api("grid01")
    response = client.post(
        f"residents/{resident.pk}/reveal",
        {"fields": ["phone"], "purpose": "走访联系"},
        HTTP_X_REQUEST_ID="req-test-000123",
    )
    assert response["X-Request-ID"] == "req-test-000123"
    assert AuditEntry.objects.order_by("-id").first().request_id == "req-test-000123"
    response = client.get("regions", HTTP_X_REQUEST_ID="bad id with spaces")
    assert response["X-Request-ID"] != "bad id with spaces"


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_api_errors_share_one_json_shape(db, client):
    response = client.get("/api/v1/residents")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Bearer" in response.json()["detail"]


def test_session_api_calls_need_csrf(users):
    from django.test import Client

    from banyan.conftest import DEMO_PASSWORD

    client = Client(enforce_csrf_checks=True)
    assert client.login(username="director", password=DEMO_PASSWORD)
    response = client.post(
        "/api/v1/residents/lookup", data={"phone": "13800000000"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert client.get("/api/v1/regions").status_code == 200
