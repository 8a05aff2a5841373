"""The shelter and supply pages: the list with occupancy, a shelter's desk (search, check in by name and by
ID number, masked names, check out, open and close), the supplies low ones first, a stock's forms, and
the board's part, in English and in Chinese."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from banyan.emergency.shelters import services
from banyan.emergency.shelters.choices import MoveKind
from banyan.emergency.shelters.models import Move, Shelter, Stay, Stock
from banyan.people.models import Household, Resident


def test_list_shows_occupancy_open_first(open_centre, signed_in, users):
    resident = Resident.objects.restrict(users["director"]).order_by("id").first()
    services.check_in(actor=users["director"], shelter=open_centre, resident=resident)
    page = signed_in("grid01").get(reverse("emergency:shelter-list"))
    assert page.status_code == 200
    shelters = page.context["shelters"]
    assert shelters[0] == open_centre and all(not s.is_open for s in shelters[1:])
    text = page.content.decode()
    assert "In the open shelters: 1 people of 300 places." in text
    assert signed_in("resident01").get(reverse("emergency:shelter-list")).status_code == 403


def test_check_in_by_search_then_out(open_centre, signed_in, users):
    client = signed_in("grid01")
    url = reverse("emergency:shelter-detail", args=[open_centre.pk])
    resident = Resident.objects.restrict(users["grid01"]).order_by("id").first()
    page = client.post(url, {"q": resident.name})
    assert page.status_code == 200
    assert resident in page.context["found"]
    assert f'data-check-in="{resident.pk}"' in page.content.decode()
    answer = client.post(
        reverse("emergency:shelter-check-in", args=[open_centre.pk]), {"resident": resident.pk}
    )
    assert answer.status_code == 302 and answer["Location"] == url
    stay = Stay.objects.get(resident=resident, checked_out_at__isnull=True)
    page = client.get(url)
    assert resident.name in page.content.decode()
    # grid02 sees the stay with the name masked, and no search results of G01
    other = signed_in("grid02").get(url)
    assert resident.name not in other.content.decode()
    assert f"<td data-name>{resident.name[0]}*" in other.content.decode()
    assert signed_in("grid02").post(url, {"q": resident.name}).context["found"] == []
    assert signed_in("auditor").post(url, {"q": resident.name}).status_code == 403
    assert "Ensure this value has at most 64" in client.post(url, {"q": "x" * 65}).content.decode()
    client.post(reverse("emergency:shelter-check-out", args=[stay.pk]))
    stay.refresh_from_db()
    assert stay.checked_out_at is not None


def test_check_in_by_id_number_and_refusals(open_centre, signed_in, users):
    client = signed_in("director")
    resident = Resident.objects.restrict(users["grid01"]).order_by("id").first()
    post = reverse("emergency:shelter-check-in", args=[open_centre.pk])
    page = client.post(post, {"id_number": resident.id_number}, follow=True)
    assert "Checked in to" in page.content.decode()
    assert Stay.objects.filter(resident=resident).count() == 1
    page = client.post(post, {"id_number": "not an id"}, follow=True)
    assert "ID number must be 18 characters long" in page.content.decode()
    Shelter.objects.filter(pk=open_centre.pk).update(capacity=1)
    another = Resident.objects.restrict(users["grid01"]).order_by("id")[1]
    page = client.post(post, {"resident": another.pk}, follow=True)
    assert "is full (1 people)" in page.content.decode()
    assert Stay.objects.count() == 1
    assert signed_in("auditor").post(post, {"resident": another.pk}).status_code == 403


def test_open_and_close_by_managers(centre, emergency, signed_in):
    url = reverse("emergency:shelter-detail", args=[centre.pk])
    page = signed_in("director").get(url)
    assert f'<option value="{emergency.pk}">' in page.content.decode()
    assert (
        signed_in("grid01")
        .post(reverse("emergency:shelter-open", args=[centre.pk]), {"emergency": emergency.pk})
        .status_code
        == 403
    )
    signed_in("director").post(
        reverse("emergency:shelter-open", args=[centre.pk]), {"emergency": emergency.pk}
    )
    centre.refresh_from_db()
    assert centre.is_open and centre.opened_for == emergency
    signed_in("director").post(reverse("emergency:shelter-close", args=[centre.pk]))
    centre.refresh_from_db()
    assert not centre.is_open


def test_supplies_low_first_and_moves(water, emergency, signed_in, users):
    Stock.objects.filter(pk=water.pk).update(quantity=10)
    page = signed_in("grid01").get(reverse("emergency:supplies"))
    assert page.context["stocks"][0] == water
    assert "data-low" in page.content.decode()
    client = signed_in("director")
    move = reverse("emergency:stock-move", args=[water.pk])
    client.post(move, {"kind": "received", "quantity": "50"})
    client.post(move, {"kind": "reserved", "quantity": "20", "emergency": emergency.pk})
    household = (
        Household.objects.restrict(users["grid01"]).select_related("unit__building").order_by("code")[0]
    )
    page = signed_in("grid01").get(
        reverse("emergency:stock-detail", args=[water.pk]),
        {"unit": f"{household.unit.building.name} {household.unit.number}"},
    )
    assert household in page.context["households"]
    signed_in("grid01").post(
        move, {"kind": "distributed", "quantity": "5", "household": household.pk, "emergency": emergency.pk}
    )
    water.refresh_from_db()
    assert (water.quantity, water.reserved) == (55, 15)
    assert Move.objects.get(stock=water, kind=MoveKind.DISTRIBUTED).household == household
    page = client.post(
        move, {"kind": "distributed", "quantity": "500", "household": household.pk}, follow=True
    )
    assert "Only 40 boxes of Drinking water" in page.content.decode()
    assert signed_in("grid01").post(move, {"kind": "received", "quantity": "5"}).status_code == 403


def test_board_part_renders_for_the_emergency(open_centre, water, emergency, users):
    services.move_stock(
        actor=users["director"], stock=water, kind=MoveKind.RESERVED, quantity=7, emergency=emergency
    )
    request = RequestFactory().get("/")
    request.user = users["grid01"]
    html = Template("{% include 'emergency/_board_shelters.html' %}").render(
        Context({"emergency": emergency, "request": request, "may_manage": False})
    )
    assert f'data-board-shelter="{open_centre.pk}"' in html
    assert "0 / 300" in html and "Drinking water" in html and "7 boxes" in html


def test_pages_in_chinese(open_centre, water, signed_in):
    client = signed_in("director", "zh-hans")
    for url in (
        reverse("emergency:shelter-list"),
        reverse("emergency:shelter-detail", args=[open_centre.pk]),
        reverse("emergency:supplies"),
        reverse("emergency:stock-detail", args=[water.pk]),
    ):
        text = client.get(url).content.decode()
        for english in ("Shelter", "Supplies", "Check in", "On hand", "Reserved"):
            assert f">{english}" not in text, (url, english)
