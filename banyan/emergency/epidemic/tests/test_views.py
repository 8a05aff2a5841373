"""Epidemic mode's pages: the page per emergency by role, the search of the area's households, the
status and delivery forms (bad input comes back naming its field), and the board's section."""

from __future__ import annotations

from banyan.emergency.epidemic.models import Delivery, HouseholdStatus
from banyan.emergency.epidemic.tests.conftest import isolate
from banyan.emergency.rollcall.tests.conftest import make_emergency


def page(emergency) -> str:
    return f"/emergency/{emergency.pk}/epidemic/"


def test_the_page_by_role(signed_in, users, epidemic, cared_household):
    isolate(users, epidemic, cared_household)
    code = cared_household.code
    for username in ("admin", "street01", "director", "grid01"):
        response = signed_in(username).get(page(epidemic))
        assert response.status_code == 200 and code in response.content.decode(), username
    response = signed_in("grid02").get(page(epidemic))
    assert response.status_code == 200 and code not in response.content.decode()
    for username in ("property01", "volunteer01", "auditor", "resident01"):
        assert signed_in(username).get(page(epidemic)).status_code == 403, username
    assert signed_in("director").get("/emergency/987654321/epidemic/").status_code == 404


def test_search_set_status_and_ask_for_a_delivery(signed_in, users, epidemic, cared_household):
    client = signed_in("grid01")
    unit = cared_household.unit
    found = client.get(page(epidemic), {"unit": f"{unit.building.name} {unit.number}"})
    assert f'value="{cared_household.pk}"' in found.content.decode()
    response = client.post(
        f"{page(epidemic)}status",
        {"household": cared_household.pk, "status": "needs_deliveries", "since": "2020-01-01", "until": ""},
    )
    assert response.status_code == 302
    row = HouseholdStatus.objects.get(emergency=epidemic, is_current=True)
    assert (row.household_id, row.status, row.until) == (cared_household.pk, "needs_deliveries", None)
    response = client.post(
        f"{page(epidemic)}delivery",
        {"household": cared_household.pk, "kind": "groceries", "what": "米和油"},
        follow=True,
    )
    assert Delivery.objects.get(emergency=epidemic).what == "米和油"
    assert "米和油" in response.content.decode()


def test_bad_input_is_named_and_changes_nothing(signed_in, users, epidemic, cared_household):
    client = signed_in("director")
    cases = [
        ({"household": cared_household.pk, "status": "isolating", "since": "yesterday"}, "Since"),
        ({"household": cared_household.pk, "status": "gone", "since": "2026-01-01"}, "Status"),
        (
            {
                "household": cared_household.pk,
                "status": "isolating",
                "since": "2026-02-01",
                "until": "2026-01-01",
            },
            "until",
        ),
        ({"household": "x", "status": "isolating", "since": "2026-01-01"}, "Household"),
    ]
    for body, field in cases:
        response = client.post(f"{page(epidemic)}status", body, follow=True)
        assert response.status_code == 200 and field in response.content.decode(), field
    response = client.post(
        f"{page(epidemic)}delivery", {"household": cared_household.pk, "kind": "medicine"}, follow=True
    )
    assert "isolating" in response.content.decode()
    assert not HouseholdStatus.objects.exists() and not Delivery.objects.exists()


def test_the_board_section_only_for_an_epidemic_and_its_roles(
    signed_in, users, epidemic, grid_g01, cared_household
):
    isolate(users, epidemic, cared_household)
    board = signed_in("director").get(f"/emergency/{epidemic.pk}/").content.decode()
    assert 'data-board-section="epidemic"' in board and "data-epidemic-counts" in board
    assert page(epidemic) in board
    for username in ("property01", "auditor", "volunteer01"):
        board = signed_in(username).get(f"/emergency/{epidemic.pk}/").content.decode()
        assert "data-epidemic-counts" not in board and page(epidemic) not in board, username
    typhoon = make_emergency([grid_g01])
    board = signed_in("director").get(f"/emergency/{typhoon.pk}/").content.decode()
    assert "data-epidemic-counts" not in board
    response = signed_in("director").get(page(typhoon))
    assert response.status_code == 200 and "data-not-epidemic" in response.content.decode()


def test_the_page_in_chinese(signed_in, users, epidemic, cared_household):
    isolate(users, epidemic, cared_household)
    text = signed_in("director", "zh-hans").get(page(epidemic)).content.decode()
    assert "隔离" in text and "Households by status" not in text
