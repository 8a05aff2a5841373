"""The administrator's pages for accounts and roles (``/people/users/``), and the ledger import's errors in
the reader's words.

Accounts: platform administrators list, create and change every account; street officers and community
directors see the accounts of their area and may reset the second factor (and end a sign-in lockout) of
those below them, as ``banyan auth`` lets them; every other role gets 403. Every change is audited.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from banyan.audit.models import AuditEntry
from banyan.conftest import DEMO_PASSWORD, make_id_number, second_factor_device
from banyan.core import clock
from banyan.core.errors import InvalidInput
from banyan.people import ledgers
from banyan.people.models import User

# --- the ledger import's errors name columns and values in the reader's words --------------------

ENGLISH_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # household_code, registered_here, party_member …


def _problems(users, rows: list[list[str]]) -> list[str]:
    header = ",".join(c.header_zh for c in ledgers.COLUMNS)
    data = "\n".join([header, *(",".join(row) for row in rows)]).encode()
    report = ledgers.import_residents(actor=users["grid01"], file=data, filename="台账.csv", dry_run=True)
    return [e.message for e in report.errors]


def test_ledger_errors_in_chinese_name_no_english_codes(users):
    building = users["grid01"].region.buildings.order_by("code").first()
    unit = building.units.order_by("id").first()
    row = ["T-H1", building.code, unit.number, "王芳", make_id_number(), "", "上司", "外星", "党员;富豪"]
    with translation.override("zh-hans"):
        messages = _problems(users, [row])
        with pytest.raises(InvalidInput) as repeated:
            ledgers.parse_ledger("姓名,户号,户编号\n王芳,1,2\n".encode(), "台账.csv")
        with pytest.raises(InvalidInput) as missing:
            ledgers.parse_ledger("姓名\n王芳\n".encode(), "台账.csv")
        with pytest.raises(InvalidInput) as unknown:
            ledgers.parse_ledger("姓名,职业\n王芳,1\n".encode(), "台账.csv")
    relation, residence, tags = (
        next(m for m in messages if word in m) for word in ("关系", "居住状态", "标签")
    )
    assert "户主、配偶" in relation and "head" not in relation
    assert "人在户不在" in residence and "registered_here" not in residence
    assert "党员、退役军人" in tags and "party_member" not in tags
    assert "户编号、楼栋编号" in missing.value.message
    assert repeated.value.message == "第 3 列（“户编号”）与户编号列重复。", "named as the file heads it"
    assert "“职业”" in unknown.value.message and "与户主关系" in unknown.value.message
    for message in [*messages, *(caught.value.message for caught in (repeated, missing, unknown))]:
        assert not ENGLISH_CODE.search(message), message


def test_ledger_errors_in_english_give_the_heading_and_the_word(users):
    building = users["grid01"].region.buildings.order_by("code").first()
    unit = building.units.order_by("id").first()
    row = ["T-H1", building.code, unit.number, "王芳", make_id_number(), "", "boss", "", ""]
    with translation.override("en"):
        messages = _problems(users, [row])
        with pytest.raises(InvalidInput) as missing:
            ledgers.parse_ledger("姓名\n王芳\n".encode(), "ledger.csv")
    relation = next(m for m in messages if "relation" in m.lower())
    assert "Head of household (户主)" in relation and "Tenant (租户)" in relation
    assert "household_code (户编号)" in missing.value.message


# --- accounts: role × scope -------------------------------------------------------------------------

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
VIEWERS = {"admin", "street01", "director"}


@pytest.fixture
def staff(users, outside):
    """grid01, a grid worker of the sibling community in the same street and one far away."""
    return {
        "grid01": users["grid01"],
        "admin": users["admin"],
        "sibling": User.objects.create(
            username="t-sib-worker",
            last_name="赵",
            first_name="敏",
            role="grid_worker",
            region=outside["sibling"]["grid"],
        ),
        "far": User.objects.create(
            username="t-far-worker",
            last_name="钱",
            first_name="亮",
            role="grid_worker",
            region=outside["other_street"]["grid"],
        ),
    }


def seen_by(username: str) -> set[str]:
    return {
        "admin": {"grid01", "admin", "sibling", "far"},
        "street01": {"grid01", "sibling"},
        "director": {"grid01"},
    }.get(username, set())


def page(account) -> str:
    return reverse("people:accounts:user-detail", args=[account.pk])


def step(name: str, account) -> str:
    return reverse(f"people:accounts:user-{name}", args=[account.pk])


def user_audits(account) -> list[str]:
    entries = AuditEntry.objects.filter(subject_type="user", subject_id=str(account.pk)).order_by("id")
    return list(entries.values_list("action", flat=True))


@pytest.mark.parametrize("username", ROLES)
def test_accounts_by_role_and_scope(username, staff, signed_in):
    client = signed_in(username)
    listing = client.get(reverse("people:accounts:user-list"))
    assert listing.status_code == (200 if username in VIEWERS else 403)
    for key, account in staff.items():
        expected = 200 if key in seen_by(username) else (404 if username in VIEWERS else 403)
        assert client.get(page(account)).status_code == expected, (username, key)
        if username in VIEWERS:
            listed = client.get(
                reverse("people:accounts:user-list"), {"q": account.username}
            ).content.decode()
            assert (page(account) in listed) == (key in seen_by(username)), (username, key)
    assert client.get(reverse("people:accounts:user-new")).status_code == (
        200 if username == "admin" else 403
    )


def test_anonymous_visitors_are_sent_to_sign_in(staff):
    client = Client()
    for url in (
        reverse("people:accounts:user-list"),
        page(staff["grid01"]),
        reverse("people:accounts:user-new"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    client.post(step("active", staff["grid01"]), {"active-active": "0", "active-confirm": "on"})
    assert User.objects.get(pk=staff["grid01"].pk).is_active


# --- the list ----------------------------------------------------------------------------------------


def test_names_family_name_first_roles_and_regions_in_words(users, signed_in):
    grid01 = users["grid01"]
    with translation.override("zh-hans"):
        expected_region = f"{grid01.region.name_zh} · {grid01.region.parent.name_zh}"
    listing = signed_in("director", "zh-hans").get(reverse("people:accounts:user-list")).content.decode()
    assert f"{grid01.last_name}{grid01.first_name}" in listing, "family name first, unspaced"
    assert f"{grid01.first_name} {grid01.last_name}" not in listing
    assert "<td>网格员</td>" in listing and ">grid_worker<" not in listing
    assert expected_region in listing and ">G01<" not in listing
    detail = signed_in("director", "zh-hans").get(page(grid01)).content.decode()
    assert f"<h1>{grid01.last_name}{grid01.first_name}</h1>" in detail


def test_the_list_filters_by_role_region_state_and_name(users, staff, signed_in):
    client = signed_in("admin")

    def listed(**query) -> set[str]:
        html = client.get(reverse("people:accounts:user-list"), query).content.decode()
        return {key for key, account in staff.items() if page(account) in html}

    assert listed(role="platform_admin") == {"admin"}
    assert listed(region=staff["sibling"].region.parent_id) == {"sibling"}
    assert listed(q=f"{users['grid01'].last_name}{users['grid01'].first_name}") == {"grid01"}
    User.objects.filter(pk=staff["far"].pk).update(is_active=False)
    assert listed(state="inactive") == {"far"}
    assert "far" not in listed(state="active")
    bad = client.get(reverse("people:accounts:user-list"), {"role": "pope", "region": "x" * 500, "page": "z"})
    assert bad.status_code == 200 and bad.context["form"].errors["role"]


# --- making and changing accounts (administrators) ---------------------------------------------------


def new_account(client, **fields):
    body = {"username": "wangfang", "family_name": "王", "given_name": "芳", "role": "grid_worker", **fields}
    return client.post(reverse("people:accounts:user-new"), body)


def test_an_administrator_makes_an_account_with_a_password_shown_once(users, signed_in):
    grid = users["grid02"].region
    response = new_account(signed_in("admin"), region=grid.pk)
    assert response.status_code == 200
    account = User.objects.get(username="wangfang")
    assert (account.role, account.region, account.last_name, account.first_name) == (
        "grid_worker",
        grid,
        "王",
        "芳",
    )
    password = response.context["new_password"]
    assert account.check_password(password) and password in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert user_audits(account) == ["user.create"]
    entry = AuditEntry.objects.get(subject_type="user", subject_id=str(account.pk))
    assert entry.details == {"username": "wangfang", "role": "grid_worker", "region": grid.code}
    assert password not in str(entry.details) and "芳" not in str(entry.details)
    assert password not in signed_in("admin").get(page(account)).content.decode(), "shown once"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"region": ""}, "region", "Choose the region this account serves."),
        ({"role": "community_director", "region": "G01"}, "region", "Select a valid choice"),
        ({"role": "auditor", "region": "REGION"}, "region", "serves every region"),
        ({"role": "grid_worker", "region": "COMMUNITY"}, "region", "serves a Grid, not a Community"),
        ({"role": "resident", "region": "GRID"}, "role", "Select a valid choice"),
        ({"username": "GRID01", "region": "GRID"}, "username", "exists already"),
        ({"username": "王 芳", "region": "GRID"}, "username", "letters, digits"),
        ({"family_name": "王\u200b", "region": "GRID"}, "family_name", "U+200B"),
        ({"family_name": "", "region": "GRID"}, "family_name", "family name"),
    ],
)
def test_making_an_account_refuses_bad_input_at_the_field(users, signed_in, fields, field, message):
    grid = users["grid01"].region
    places = {"GRID": str(grid.pk), "COMMUNITY": str(grid.parent_id), "REGION": str(grid.pk)}
    fields = {key: places.get(value, value) for key, value in fields.items()}
    count = User.objects.count()
    response = new_account(signed_in("admin"), **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors.get(field, [])), response.context[
        "form"
    ].errors
    assert User.objects.count() == count


@pytest.mark.parametrize("username", ["street01", "director", "grid01", "auditor"])
def test_only_administrators_make_or_change_accounts(username, users, staff, signed_in):
    client = signed_in(username)
    count = User.objects.count()
    assert new_account(client, region=users["grid01"].region.pk).status_code == 403
    account = staff["grid01"]
    body = {"family_name": "改", "given_name": "", "role": "auditor", "region": ""}
    assert client.post(page(account), body).status_code == 403
    assert (
        client.post(step("active", account), {"active-active": "0", "active-confirm": "on"}).status_code
        == 403
    )
    assert client.post(step("password", account), {"password-confirm": "on"}).status_code == 403
    stored = User.objects.get(pk=account.pk)
    assert (stored.last_name, stored.role, stored.is_active) == (account.last_name, "grid_worker", True)
    assert User.objects.count() == count and user_audits(account) == []


def test_changing_role_and_region(users, signed_in):
    account = users["grid01"]
    community = account.region.parent
    body = {"family_name": account.last_name, "given_name": account.first_name, "role": "property_staff"}
    response = signed_in("admin").post(page(account), {**body, "region": community.pk})
    assert response.status_code == 302 and response["Location"] == page(account)
    stored = User.objects.get(pk=account.pk)
    assert (stored.role, stored.region) == ("property_staff", community)
    entry = AuditEntry.objects.get(subject_type="user", subject_id=str(account.pk))
    assert entry.action == "user.update" and entry.details["changed"] == ["region", "role"]


def test_an_administrator_keeps_their_own_role_and_a_resident_theirs(users, signed_in):
    admin, resident = users["admin"], users["resident01"]
    body = {"family_name": admin.last_name, "given_name": admin.first_name, "role": "auditor", "region": ""}
    response = signed_in("admin").post(page(admin), body)
    assert response.status_code == 200 and "your own role" in response.context["edit_form"].errors["role"][0]
    body = {"family_name": "王", "given_name": "瑞", "role": "grid_worker", "region": resident.region_id}
    response = signed_in("admin").post(page(resident), body)
    assert response.status_code == 200 and response.context["edit_form"].errors["role"]
    assert (
        User.objects.get(pk=resident.pk).role == "resident"
        and User.objects.get(pk=admin.pk).role == "platform_admin"
    )


def test_deactivating_and_reactivating_an_account(users, signed_in):
    account = users["grid01"]
    worker = signed_in("grid01")
    assert worker.get(reverse("account:home")).status_code == 200
    admin = signed_in("admin")
    refused = admin.post(step("active", account), {"active-active": "0"})
    assert refused.status_code == 200 and "Tick the box" in refused.content.decode()
    assert User.objects.get(pk=account.pk).is_active
    response = admin.post(step("active", account), {"active-active": "0", "active-confirm": "on"})
    assert response.status_code == 302 and not User.objects.get(pk=account.pk).is_active
    assert worker.get(reverse("account:home")).status_code == 302, "the session ends at once"
    admin.post(step("active", account), {"active-active": "1", "active-confirm": "on"})
    assert User.objects.get(pk=account.pk).is_active
    assert user_audits(account) == ["user.deactivate", "user.reactivate"]


def test_a_new_password_replaces_the_old_and_is_shown_once(users, signed_in):
    account = users["grid01"]
    admin = signed_in("admin")
    assert admin.post(step("password", account), {}).status_code == 200
    assert User.objects.get(pk=account.pk).check_password(DEMO_PASSWORD)
    response = admin.post(step("password", account), {"password-confirm": "on"})
    password = response.context["new_password"]
    stored = User.objects.get(pk=account.pk)
    assert stored.check_password(password) and not stored.check_password(DEMO_PASSWORD)
    assert user_audits(account) == ["user.password"]


# --- helping people sign in (administrators, street officers and directors below them) --------------


@pytest.mark.parametrize("username", ROLES)
def test_removing_a_second_factor_by_role_and_scope(username, users, staff, signed_in):
    targets = {"grid01": users["grid01"], "director": users["director"], "sibling": staff["sibling"]}
    for account in targets.values():
        second_factor_device(account)
    client = signed_in(username)
    allowed = {
        "admin": {"grid01", "director", "sibling"},
        "street01": {"grid01", "director", "sibling"},
        "director": {"grid01"},
    }.get(username, set())
    for key, account in targets.items():
        response = client.post(step("second-factor", account), {"second-factor-confirm": "on"})
        removed = not TOTPDevice.objects.filter(user=account).exists()
        if key in allowed:
            assert response.status_code == 302 and removed, (username, key)
            assert user_audits(account) == ["otp.reset"]
        else:
            in_view = username in VIEWERS and key in seen_by(username) | {"director"} & seen_by(username)
            expected = (
                403 if username not in VIEWERS or (key == "director" and username == "director") else 404
            )
            assert response.status_code == expected, (username, key, in_view)
            assert not removed and user_audits(account) == []


def test_a_lockout_is_shown_and_ended(users, signed_in, settings):
    account = users["grid01"]
    AccessAttempt.objects.create(
        username=account.username,
        ip_address="10.0.0.1",
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/login/",
        failures_since_start=settings.BANYAN_LOGIN["ACCOUNT_LIMIT"],
        attempt_time=clock.now(),
    )
    director = signed_in("director")
    assert "Locked after wrong passwords" in director.get(page(account)).content.decode()
    assert director.post(step("unlock", account), {}).status_code == 200
    assert AccessAttempt.objects.filter(username=account.username).exists()
    response = director.post(step("unlock", account), {"unlock-confirm": "on"})
    assert (
        response.status_code == 302 and not AccessAttempt.objects.filter(username=account.username).exists()
    )
    assert user_audits(account) == ["login.unlocked"]
    assert "Locked after wrong passwords" not in director.get(page(account)).content.decode()
