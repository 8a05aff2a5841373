"""An ordinary 403 or 404 is one line in the server log (method, path without the query string, status),
never a traceback; a 500 keeps its traceback (banyan.core.errors.ClientErrorLogFilter)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def request_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_refused_page_is_one_line_without_a_traceback(users, caplog):
    client = Client()
    client.force_login(users["resident01"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/alerts/?status=any&name=13912345678")
    assert response.status_code == 403
    [record] = request_records(caplog)
    assert (record.levelname, record.exc_info, record.exc_text) == ("WARNING", None, None)
    assert record.getMessage() == "GET /alerts/ 403 Forbidden (Permission denied)"
    assert "Traceback" not in caplog.text and "13912345678" not in caplog.text


def test_a_missing_page_is_one_line(users, caplog):
    client = Client()
    client.force_login(users["director"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/alerts/999999/?q=x").status_code == 404
        assert client.get("/no-such-page/").status_code == 404
    messages = [(r.getMessage(), r.exc_info) for r in request_records(caplog)]
    assert messages == [
        ("GET /alerts/999999/ 404 Not Found", None),
        ("GET /no-such-page/ 404 Not Found", None),
    ]
    assert "Traceback" not in caplog.text


def test_a_refused_api_call_is_one_line(api, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert api("resident01").get("audit").status_code == 403
    [record] = request_records(caplog)
    assert record.getMessage().startswith("GET /api/v1/audit 403 ")
    assert record.exc_info is None


def test_a_server_error_keeps_its_traceback(monkeypatch, caplog):
    from banyan.core import clock

    def broken():
        raise RuntimeError("the clock broke")

    monkeypatch.setattr(clock, "now", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/healthz").status_code == 500
    [record] = request_records(caplog)
    assert record.levelname == "ERROR"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "Traceback" in caplog.text and "the clock broke" in caplog.text
