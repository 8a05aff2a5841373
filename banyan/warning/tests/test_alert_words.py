"""An alert's place in words on its pages: the device's unit as residents say it, its code beside."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from banyan.core import clock
from banyan.places.words import unit_words
from banyan.sensing.models import Device
from banyan.warning.models import Alert
from banyan.warning.tests.conftest import make_rule


def test_the_alert_pages_say_the_units_place_in_words(users):
    device = Device.objects.filter(unit__isnull=False, grid=users["grid01"].region).order_by("code").first()
    now = clock.now()
    place = f"{device.unit.building.code}/{device.unit.number}"
    alert = Alert.objects.create(
        rule=make_rule(community=device.community),
        subject=device.code,
        place=place,
        device=device,
        community=device.community,
        grid=device.grid,
        grade="orange",
        raised_at=now,
        updated_at=now,
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users["director"])
    words = unit_words(device.unit, "zh-hans")
    for url in (reverse("warning:alert-list"), reverse("warning:alert-detail", args=[alert.pk])):
        html = client.get(url).content.decode()
        assert words in html, url
        assert f'<span class="secondary">{place}</span>' in html, url
