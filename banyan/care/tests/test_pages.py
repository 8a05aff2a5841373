"""The care pages: the resident's "I'm fine" button on the home page (in elder mode too) and its
confirmation; a staff member's check-in for a resident; the plans missing or overdue, in both languages."""

from __future__ import annotations

import re

from django.urls import reverse

from banyan.care.models import CarePlan, CheckIn
from banyan.people.models import Resident
from banyan.response.models import Incident

HOME = "/"


def test_the_resident_home_has_the_button_and_then_the_confirmation(signed_in, users):
    client = signed_in("resident01", "zh-hans")
    client.post("/elder-mode/", {"next": HOME})
    page = client.get(HOME).content.decode()
    assert 'class="elder"' in page
    assert "今日平安" in page and reverse("care:checkin") in page
    assert page.index("今日平安") < page.index('class="home-actions"'), "the button sits above the others"
    response = client.post(reverse("care:checkin"), {"outcome": "fine"})
    assert response.status_code == 302 and response["Location"] == HOME
    checkin = CheckIn.objects.get()
    assert (checkin.channel, checkin.outcome, checkin.by) == ("app", "fine", users["resident01"])
    page = client.get(HOME).content.decode()
    assert re.search(r"已报平安，今天 \d{1,2}:\d\d", page)


def test_the_button_is_the_residents_only(signed_in):
    for role in ("grid01", "director"):
        assert reverse("care:checkin") not in signed_in(role).get(HOME).content.decode()
        assert signed_in(role).post(reverse("care:checkin"), {"outcome": "fine"}).status_code == 403
    assert not CheckIn.objects.exists()


def test_staff_record_a_check_in_for_a_resident(signed_in, users):
    resident = users["resident01"].resident
    url = reverse("care:resident-checkin", args=[resident.pk])
    client = signed_in("grid01")
    assert url in client.get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert client.get(url).status_code == 200
    response = client.post(url, {"outcome": "fine", "channel": "voice", "note": "phoned, all well"})
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert (checkin.channel, checkin.by, checkin.note) == ("voice", users["grid01"], "phoned, all well")
    page = client.get(url).content.decode()
    assert "Check-in recorded." in page and users["grid01"].display_name in page
    before = Incident.objects.count()
    client.post(url, {"outcome": "need_help", "channel": "staff"})
    assert Incident.objects.count() == before + 1
    assert signed_in("grid02").get(url).status_code == 404


def test_the_staff_page_in_chinese(signed_in, users):
    resident = users["resident01"].resident
    page = signed_in("grid01", "zh-hans").get(reverse("care:resident-checkin", args=[resident.pk]))
    text = page.content.decode()
    assert "登记报平安" in text and "情况如何" in text and "工作人员" in text


def test_the_director_makes_a_plan_from_the_list(signed_in, users):
    cared = (
        Resident.objects.restrict(users["director"])
        .filter(care_profiles__is_active=True)
        .order_by("id")
        .first()
    )
    client = signed_in("director", "zh-hans")
    page = client.get(reverse("care:attention")).content.decode()
    assert "缺少或逾期的关怀计划" in page and f'data-missing="{cared.pk}"' in page
    response = client.post(reverse("care:plan-create", args=[cared.pk]), {"care_kind": "elderly_alone"})
    assert response.status_code == 302
    assert CarePlan.objects.get(resident=cared).care_kind == "elderly_alone"
    page = client.get(reverse("care:attention")).content.decode()
    assert f'data-missing="{cared.pk}"' not in page
    assert signed_in("property01").get(reverse("care:attention")).status_code == 403


def test_the_staff_home_leads_to_the_plans(signed_in):
    page = signed_in("director", "zh-hans").get(HOME).content.decode()
    assert reverse("care:attention") in page
    assert re.search(r"\d+ 位受关怀居民没有计划", page)
    for role in ("resident01", "property01", "auditor", "volunteer01"):
        assert reverse("care:attention") not in signed_in(role).get(HOME).content.decode()


def test_a_plan_is_changed_on_its_page(signed_in, users):
    from banyan.care import services

    resident = users["resident01"].resident
    plan = services.create_plan(actor=users["director"], resident=resident, care_kind="elderly_alone")
    url = reverse("care:plan-edit", args=[plan.pk])
    client = signed_in("director", "zh-hans")
    page = client.get(url).content.decode()
    assert "关怀计划" in page and "宽限时间（分钟）" in page
    assert url in client.get(reverse("care:resident-checkin", args=[resident.pk])).content.decode()
    body = {
        "checkin_time": "08:30",
        "grace_minutes": "45",
        "visit_interval_days": "3",
        "channels": ["voice", "app"],
        "escalation": "wellness_visit",
        "is_active": "on",
    }
    assert client.post(url, body).status_code == 302
    plan.refresh_from_db()
    assert (plan.checkin_time.hour, plan.checkin_time.minute, plan.grace_minutes) == (8, 30, 45)
    assert plan.channels == ["app", "voice"] and plan.escalation == "wellness_visit"
    refused = client.post(url, {**body, "channels": []})
    assert refused.status_code == 200 and "field--invalid" in refused.content.decode()
    assert signed_in("grid02").get(url).status_code == 404
    assert signed_in("volunteer01").get(url).status_code == 403


def test_the_director_makes_every_missing_plan_in_one_click(signed_in, users):
    director = users["director"]
    missing = Resident.objects.restrict(director).filter(care_profiles__is_active=True).distinct().count()
    assert missing > 1
    client = signed_in("director", "zh-hans")
    assert f"按模板一键制定全部 {missing} 份计划" in client.get(reverse("care:attention")).content.decode()
    stale = client.post(reverse("care:plan-create-all"), {"count": str(missing + 1)})
    assert stale.status_code == 302 and not CarePlan.objects.exists(), "the list changed: nothing made"
    response = client.post(reverse("care:plan-create-all"), {"count": str(missing)})
    assert response.status_code == 302
    assert CarePlan.objects.count() == missing
    assert f"已按模板制定 {missing} 份关怀计划" in client.get(reverse("care:attention")).content.decode()
    assert signed_in("volunteer01").post(reverse("care:plan-create-all"), {"count": "0"}).status_code == 403
    assert not CarePlan.objects.exclude(resident__in=Resident.objects.restrict(director)).exists()
