"""Names and other texts with invisible characters (zero-width, text direction, control) are refused."""

from __future__ import annotations

import pytest

from banyan.conftest import make_id_number
from banyan.core.errors import InvalidInput
from banyan.core.schemas import clean_text, hidden_character
from banyan.people import services
from banyan.people.models import Household, Resident

HIDDEN = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space (BOM)
    "\u202a",  # left-to-right embedding
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\x7f",  # DEL
    "\x85",  # next line (C1)
    "\u00ad",  # soft hyphen (Cf)
]


@pytest.mark.parametrize("hidden", HIDDEN)
def test_clean_text_refuses_hidden_characters_naming_them(hidden):
    assert hidden_character(f"李{hidden}雷") == f"U+{ord(hidden):04X}"
    with pytest.raises(ValueError, match=f"U\\+{ord(hidden):04X}"):
        clean_text(f"李{hidden}雷")


def test_clean_text_keeps_ordinary_text():
    for text in ("李雷", "Zoë O'Brien-Smith", "阿卜杜拉·买买提", "ʻOkina", "１２３", "😀"):
        assert hidden_character(text) is None
        assert clean_text(text) == text


def _household(users):
    return Household.objects.filter(grid=users["grid01"].region).order_by("id").first()


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066"])
def test_api_refuses_hidden_characters_in_resident_names(api, users, hidden):
    """Finding 12: a resident named with a bidi override or zero-width space was accepted."""
    household = _household(users)
    before = Resident.objects.count()
    body = {
        "household": household.pk,
        "name": f"王{hidden}芳",
        "id_number": make_id_number(),
        "relation": "child",
    }
    response = api("grid01").post("residents", body)
    assert response.status_code in (400, 422)
    assert response.data["field"] == "name"
    assert f"U+{ord(hidden):04X}" in response.data["detail"]
    assert Resident.objects.count() == before

    resident = Resident.objects.filter(household=household).first()
    response = api("grid01").patch(f"residents/{resident.pk}", {"name": f"{hidden}王芳"})
    assert response.data["field"] == "name"
    resident.refresh_from_db()
    assert hidden not in resident.name


def test_api_refuses_hidden_characters_in_carer_names(api, users):
    resident = Resident.objects.filter(household=_household(users)).first()
    body = {
        "resident": resident.pk,
        "kind": "low_income",
        "carers": [{"kind": "family", "name": "张\u200d三"}],
    }
    response = api("grid01").post("care-profiles", body)
    assert response.status_code == 422
    assert response.data["field"] == "carers.0.name"
    assert not resident.care_profiles.filter(kind="low_income").exists()


def test_service_refuses_hidden_characters_in_names(users):
    """The service checks too: a name reaching it from anywhere else (a command, a form) is refused."""
    household = _household(users)
    with pytest.raises(InvalidInput) as caught:
        services.create_resident(
            actor=users["grid01"],
            household=household,
            data={"name": "王\u202e芳", "id_number": make_id_number(), "relation": "child"},
        )
    assert caught.value.field == "name"
    assert "U+202E" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        services.create_resident(
            actor=users["grid01"],
            household=household,
            data={
                "name": "王芳",
                "id_number": make_id_number(),
                "relation": "child",
                "registered_address": "杭州\u2066市",
            },
        )
    assert caught.value.field == "registered_address"


def test_a_chinese_name_is_family_name_first():
    from banyan.people.models import User

    assert User(first_name="桂香", last_name="刘", username="d").display_name == "刘桂香"
    assert User(first_name="Anna", last_name="Schmidt", username="a").display_name == "Anna Schmidt"
    assert User(username="grid01").display_name == "grid01"
