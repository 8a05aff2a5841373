"""The responsibility matrix's pages: role × scope, cells and gaps shown by name (bodies, roles and
regions in words, codes at most in links), and the cell form that picks every body and role from
lists — the bodies serving the editor's regions, grouped by kind, the roles that act on incidents by
their label — with a message naming the field for each bad pick, and nothing written then."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.people.models import Organisation
from banyan.response.models import Responsibility

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
EDITORS = {"admin", "street01", "director"}


@pytest.fixture
def signed_in(users):
    def make(username: str | None = None, language: str = "en") -> Client:
        client = Client(headers={"Accept-Language": language})
        if username:
            client.force_login(users[username])
        return client

    return make


@pytest.fixture
def sibling_body(outside):
    """A body serving the sibling community (same street as the demo community)."""
    body = Organisation.objects.create(
        code="T-SIB-COMMITTEE",
        kind="community_committee",
        name_zh="邻社区居委会",
        name_en="Sibling committee",
    )
    body.regions.add(outside["sibling"]["community"])
    return body


def visible_text(html: str) -> str:
    """What a person reads: the page without its tags (and so without attributes and links)."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def options(html: str, name: str) -> dict[str, str]:
    """A select's options by value: their text."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return {
        value: html_lib.unescape(text.strip())
        for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)<', select[1])
    }


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    found = re.search(r'<option value="([^"]*)"[^>]*selected', select[1])
    return found[1] if found else ""


# --- who may see and edit --------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["response:matrix", "response:matrix-cell"])
def test_every_role_by_page(page, signed_in, site):
    url = reverse(page)
    anonymous = signed_in().get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account:login"))
    for username in ROLES:
        if page == "response:matrix":
            expected = 403 if username == "resident01" else 200
        else:
            expected = 200 if username in EDITORS else 403
        assert signed_in(username).get(url).status_code == expected, (page, username)


def test_a_region_outside_the_scope_is_404_on_the_matrix(signed_in, site, outside):
    far = outside["other_street"]["community"].code
    assert signed_in("director").get(reverse("response:matrix") + f"?region={far}").status_code == 404
    assert signed_in("street01").get(reverse("response:matrix") + f"?region={far}").status_code == 404
    assert signed_in("admin").get(reverse("response:matrix") + f"?region={far}").status_code == 200


# --- the matrix in words ---------------------------------------------------------------------------


def test_the_matrix_names_bodies_roles_and_regions_not_codes(signed_in, site):
    page = signed_in("director").get(reverse("response:matrix"))
    html = page.content.decode()
    cell = site["cell"]
    assert f'data-cell="flooding@{cell.region.code}"' in html
    text = visible_text(html)
    committee, street = site["committee"], site["street"]
    row = page.context["rows"][0]
    assert row["escalation"] == [
        {"body": committee.name_en or committee.name_zh, "role": "Community director"},
        {"body": street.name_en or street.name_zh, "role": ""},
    ]
    for code in ("ORG-COMMITTEE", "ORG-STREET", "community_director", "grid_worker", cell.region.code):
        assert code not in text, code
    assert "Grid worker" in text and "Community director" in text
    gaps = {f"{g['category'].code}@{g['region'].code}" for g in page.context["gaps"]}
    assert f"gas@{site['grid'].code}" in gaps and f"flooding@{site['grid'].code}" not in gaps
    worker_page = signed_in("grid01").get(reverse("response:matrix")).content.decode()
    assert reverse("response:matrix-cell") not in worker_page, "no edit links without CHANGE_MATRIX"


def test_the_chinese_matrix_reads_chinese(signed_in, site):
    text = visible_text(signed_in("director", "zh-hans").get(reverse("response:matrix")).content.decode())
    assert site["committee"].name_zh in text and "社区主任" in text
    assert "Community director" not in text and "community_director" not in text


def test_an_escalation_step_naming_a_body_that_is_gone_reads_unknown(signed_in, site):
    Responsibility.objects.filter(pk=site["cell"].pk).update(escalation=[{"organisation": "ORG-GONE"}])
    text = visible_text(signed_in("director").get(reverse("response:matrix")).content.decode())
    assert "unknown body" in text and "ORG-GONE" not in text


# --- the cell form picks ---------------------------------------------------------------------------


def test_the_form_lists_the_bodies_of_the_editors_regions_by_name_and_the_roles_by_label(
    signed_in, site, sibling_body
):
    html = signed_in("director").get(reverse("response:matrix-cell")).content.decode()
    bodies = options(html, "accountable")
    assert bodies[""] == "Choose an organisation"
    assert (
        bodies["ORG-COMMITTEE"] == site["committee"].name_en
        and bodies["ORG-STREET"] == site["street"].name_en
    )
    assert "T-SIB-COMMITTEE" not in bodies, "another community's body is not the director's to name"
    assert '<optgroup label="Community committee">' in html and '<optgroup label="Street office">' in html
    roles = options(html, "accountable_role")
    assert roles["grid_worker"] == "Grid worker" and roles["community_director"] == "Community director"
    assert "resident" not in roles and "auditor" not in roles, "roles that never act on incidents"
    assert set(options(html, "escalation_1")) == set(bodies) and set(
        options(html, "escalation_1_role")
    ) == set(roles)
    assert "escalation_3" in html and "escalation_4" not in html, "three steps shown on a new cell"
    text = visible_text(html)
    assert "ORG-" not in text and "grid_worker" not in text and site["grid"].code not in text
    street = options(
        signed_in("street01").get(reverse("response:matrix-cell")).content.decode(), "accountable"
    )
    assert "T-SIB-COMMITTEE" in street, "the street officer's street holds the sibling community"


def test_the_chinese_form_reads_chinese(signed_in, site):
    html = signed_in("director", "zh-hans").get(reverse("response:matrix-cell")).content.decode()
    assert options(html, "accountable")["ORG-COMMITTEE"] == site["committee"].name_zh
    assert options(html, "accountable_role")["community_director"] == "社区主任"
    text = visible_text(html.split('<main id="main" tabindex="-1">', 1)[1].split("</main>", 1)[0])
    assert "第 1 级的组织" in text and "第 1 级的角色（可选）" in text
    assert not re.search(r"[A-Za-z]{3,}", text), re.findall(r"[A-Za-z]{3,}", text)


def test_editing_a_cell_shows_its_picks(signed_in, site):
    cell = site["cell"]
    url = f"{reverse('response:matrix-cell')}?category=flooding&region={cell.region.code}"
    html = signed_in("director").get(url).content.decode()
    assert selected(html, "accountable") == "ORG-COMMITTEE"
    assert selected(html, "accountable_role") == "grid_worker"
    assert selected(html, "backup") == ""
    assert (selected(html, "escalation_1"), selected(html, "escalation_1_role")) == (
        "ORG-COMMITTEE",
        "community_director",
    )
    assert (selected(html, "escalation_2"), selected(html, "escalation_2_role")) == ("ORG-STREET", "")
    assert selected(html, "escalation_3") == "" and "escalation_4" not in html


CELL = {
    "category": "gas",
    "accountable": "ORG-PROPERTY",
    "accountable_role": "property_staff",
    "backup": "ORG-COMMITTEE",
    "backup_role": "",
    "escalation_1": "ORG-COMMITTEE",
    "escalation_1_role": "community_director",
    "escalation_2": "",
    "escalation_2_role": "",
    "escalation_3": "ORG-STREET",
    "escalation_3_role": "",
}


def test_the_director_saves_a_cell_picked_from_the_lists(signed_in, site):
    grid = site["grid"]
    data = {**CELL, "region": grid.code}
    saved = signed_in("director").post(reverse("response:matrix-cell"), data)
    assert saved.status_code == 302 and saved.url == f"{reverse('response:matrix')}?region={grid.code}"
    cell = Responsibility.objects.get(category__code="gas", region=grid)
    assert (cell.accountable.code, cell.accountable_role, cell.backup.code) == (
        "ORG-PROPERTY",
        "property_staff",
        "ORG-COMMITTEE",
    )
    assert cell.escalation == [
        {"organisation": "ORG-COMMITTEE", "role": "community_director"},
        {"organisation": "ORG-STREET"},
    ], "an empty step between two is left out"
    assert AuditEntry.objects.filter(action="matrix.set", subject_id=str(cell.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"accountable": ""}, "accountable", "Choose the body that answers for this category here."),
        ({"accountable": "ORG-NOWHERE"}, "accountable", "Choose one of the listed organisations."),
        ({"accountable_role": "resident"}, "accountable_role", "Choose one of the listed roles."),
        ({"escalation_2_role": "street_officer"}, "escalation_2", "Step 2: choose the organisation"),
        ({"escalation_1": "T-SIB-COMMITTEE"}, "escalation_1", "Choose one of the listed organisations."),
        ({"region": "NOPE"}, "region", "Choose one of the regions you manage."),
    ],
)
def test_a_bad_pick_names_its_field_and_writes_nothing(signed_in, site, sibling_body, change, field, message):
    data = {**CELL, "region": site["grid"].code, **change}
    response = signed_in("director").post(reverse("response:matrix-cell"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert "The cell was not saved." in response.content.decode()
    assert not Responsibility.objects.filter(category__code="gas", region=site["grid"]).exists()


def test_a_listed_body_that_does_not_serve_the_cells_region_is_refused_by_the_service(
    signed_in, site, sibling_body
):
    """The street officer's list holds both communities' bodies; the sibling's does not serve the demo
    community's grid: the service says so next to the field."""
    data = {**CELL, "region": site["grid"].code, "accountable": "T-SIB-COMMITTEE"}
    response = signed_in("street01").post(reverse("response:matrix-cell"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["accountable"] == ["This body does not serve the region."]
    chain = {**CELL, "region": site["grid"].code, "escalation_1": "T-SIB-COMMITTEE"}
    response = signed_in("street01").post(reverse("response:matrix-cell"), chain)
    assert response.context["form"].errors["escalation_1"] == [
        "Each escalation step names a body serving the region."
    ]
    assert not Responsibility.objects.filter(category__code="gas", region=site["grid"]).exists()


def test_a_grid_worker_may_not_post_a_cell(signed_in, site):
    data = {**CELL, "region": site["grid"].code}
    assert signed_in("grid01").post(reverse("response:matrix-cell"), data).status_code == 403
    assert signed_in("auditor").post(reverse("response:matrix-cell"), data).status_code == 403
    assert not Responsibility.objects.filter(category__code="gas", region=site["grid"]).exists()
