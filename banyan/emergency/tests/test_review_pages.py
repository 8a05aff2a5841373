# ruff: noqa: F401, F811 -- the fixtures imported from review_fixtures are used as arguments
"""The after-action review's pages: who reads it and who changes it, in both languages; the XLSX and PDF
exports hold the review's figures."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from banyan.core import clock
from banyan.emergency import services
from banyan.emergency.models import Lesson, Plan, Task
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry
from banyan.emergency.tests.review_fixtures import activated, grid_g01, sim


def _run(users, emergency, sim) -> None:
    roll_call = rollcall.start_roll_call(actor=users["director"], emergency=emergency)
    sim.advance(dt.timedelta(minutes=12))
    vulnerable = Entry.objects.filter(roll_call=roll_call, vulnerable=True).first()
    Entry.objects.filter(pk=vulnerable.pk).update(status="safe", accounted_at=clock.now())
    sim.advance(dt.timedelta(minutes=100))
    services.stand_down(actor=users["director"], emergency=emergency)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_viewers_read_the_review_and_only_managers_change_it(signed_in, users, activated, sim, language):
    emergency = activated
    _run(users, emergency, sim)
    url = reverse("emergency:review", args=[emergency.pk])
    page = signed_in("volunteer01", language).get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "data-review-tasks" in body and "data-lesson-form" not in body and "data-recovery=" not in body
    assert signed_in("resident01", language).get(url).status_code == 403
    director = signed_in("director", language)
    body = director.get(url).content.decode()
    assert "data-lesson-form" in body and 'data-recovery="follow_up"' in body
    assert ("After-action review" in body) == (language == "en") and ("复盘评估" in body) == (
        language != "en"
    )
    body_id = director.get(url).context["lesson_form"].fields["owner"].choices[1][0]
    lesson_url = reverse("emergency:review-lesson", args=[emergency.pk])
    assert signed_in("grid01", language).post(lesson_url, {"text": "x", "owner": body_id}).status_code == 403
    refused = director.post(lesson_url, {"text": "沙袋不够"})
    assert refused.status_code == 200 and not Lesson.objects.exists()
    assert (
        director.post(lesson_url, {"text": "沙袋提前到位", "owner": body_id, "due": "2026-12-31"}).status_code
        == 302
    )
    lesson = Lesson.objects.get()
    assert "沙袋提前到位" in director.get(url).content.decode()
    response = director.post(
        reverse("emergency:review-recovery", args=[emergency.pk]), {"template": "repairs"}
    )
    assert response.status_code == 302
    task = Task.objects.get(emergency=emergency, kind="recovery")
    assert (
        director.post(reverse("emergency:review-recovery-done", args=[emergency.pk, task.pk])).status_code
        == 302
    )
    task.refresh_from_db()
    assert task.status == "done"
    before = Plan.objects.filter(community=emergency.community).count()
    response = director.post(reverse("emergency:review-plan", args=[emergency.pk]))
    assert (
        response.status_code == 302
        and Plan.objects.filter(community=emergency.community).count() == before + 1
    )
    assert (
        director.post(reverse("emergency:review-lesson-done", args=[emergency.pk, lesson.pk])).status_code
        == 302
    )
    lesson.refresh_from_db()
    assert lesson.done


def test_the_exports_hold_the_review(signed_in, users, activated, sim):
    emergency = activated
    _run(users, emergency, sim)
    client = signed_in("auditor")
    response = client.get(reverse("emergency:review-xlsx", args=[emergency.pk]))
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Summary", "Timeline", "Tasks", "Roll call", "Lessons"]
    tasks = [row for row in book["Tasks"].iter_rows(min_row=2, values_only=True)]
    assert {row[0] for row in tasks} >= {
        "Start the 24-hour duty",
        "Patrol low ground and underground garages",
    }
    curve = list(book["Roll call"].iter_rows(min_row=2, values_only=True))
    assert curve[0] == (0.0, 0) and curve[1][0] == 12.0 and curve[1][1] > 0
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Resilience loss (percent-hours)"] > 0 and summary["Checklist tasks"] == 4
    pdf = client.get(reverse("emergency:review-pdf", args=[emergency.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000
    assert (
        signed_in("resident01").get(reverse("emergency:review-pdf", args=[emergency.pk])).status_code == 403
    )
