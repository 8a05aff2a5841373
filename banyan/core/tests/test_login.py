"""Signing in: lockout per account and per address on Banyan's clock, its message, its audit entries,
unlocking, and the password rules (issue 10, finding 7)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.test import Client

from banyan.audit.models import AuditEntry
from banyan.conftest import DEMO_PASSWORD
from banyan.core import clock

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Hangzhou


@pytest.fixture
def sim():
    with clock.use(clock.SimulatedClock(START)) as simulated:
        yield simulated


def sign_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password}, headers={"Accept-Language": "en"})


def signed_in(client: Client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def new_entries(before: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=before).order_by("id"))


@pytest.mark.slow
def test_contract_ten_wrong_passwords_lock_the_account_for_five_minutes(users, sim):
    """Contract: after 10 wrong passwords for one account, the right password does not sign in for at
    least 5 minutes (429 and the sign-in page with the message); after that it does."""
    client = Client(REMOTE_ADDR="10.1.0.1")
    statuses = [sign_in(client, "director", f"wrong-password-{n}").status_code for n in range(10)]
    assert statuses == [200] * 9 + [429]

    refused = sign_in(client, "director", DEMO_PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(client, users["director"])
    html = refused.content.decode()
    assert "Too many sign-in attempts. Try again after 09:05." in html  # 01:05 UTC, shown in Hangzhou time
    assert 'role="alert"' in html and 'id="id_username"' in html  # the sign-in page itself
    assert refused["Retry-After"] == "301"

    sim.advance(dt.timedelta(minutes=4))
    assert sign_in(client, "director", DEMO_PASSWORD).status_code == 429
    assert not signed_in(client, users["director"])

    sim.advance(dt.timedelta(seconds=61))  # 5 minutes and a second after the last wrong password
    response = sign_in(client, "director", DEMO_PASSWORD)
    assert response.status_code == 302
    assert signed_in(client, users["director"])


@pytest.mark.slow
def test_attempts_during_a_lockout_do_not_prolong_it(users, sim):
    client = Client(REMOTE_ADDR="10.1.0.2")
    for n in range(10):
        sign_in(client, "grid01", f"wrong-password-{n}")
    for _minute in range(4):
        sim.advance(dt.timedelta(minutes=1))
        assert sign_in(client, "grid01", "still-wrong-password").status_code == 429
    sim.advance(dt.timedelta(minutes=1, seconds=1))
    assert sign_in(client, "grid01", DEMO_PASSWORD).status_code == 302


@pytest.mark.slow
def test_the_lockout_is_per_account_whatever_the_address(users, sim):
    for n in range(10):
        sign_in(Client(REMOTE_ADDR=f"10.2.0.{n + 1}"), "grid02", f"wrong-password-{n}")
    other_address = Client(REMOTE_ADDR="10.2.1.1")
    assert sign_in(other_address, "grid02", DEMO_PASSWORD).status_code == 429
    # Another account from the same addresses is not locked.
    assert sign_in(Client(REMOTE_ADDR="10.2.0.1"), "grid01", DEMO_PASSWORD).status_code == 302


@pytest.mark.slow
def test_the_lockout_is_per_address_across_accounts(users, sim):
    """Password spraying: 30 wrong passwords from one address (the default limit), a few per account,
    lock the address."""
    from django.conf import settings

    assert settings.BANYAN_LOGIN["ADDRESS_LIMIT"] == 30
    client = Client(REMOTE_ADDR="10.3.0.1")
    names = ["admin", "street01", "director", "grid01", "grid02", "property01"]
    for n in range(30):
        response = sign_in(client, names[n % len(names)], f"wrong-password-{n}")
    assert response.status_code == 429
    assert sign_in(client, "volunteer01", DEMO_PASSWORD).status_code == 429
    assert not signed_in(client, users["volunteer01"])
    # The accounts themselves are not locked: from elsewhere they sign in.
    assert sign_in(Client(REMOTE_ADDR="10.3.0.2"), "volunteer01", DEMO_PASSWORD).status_code == 302
    sim.advance(dt.timedelta(minutes=5, seconds=1))
    assert sign_in(client, "volunteer01", DEMO_PASSWORD).status_code == 302


@pytest.mark.slow
def test_the_lockout_answer_does_not_tell_whether_the_account_exists(users, sim):
    def locked_page(username: str, address: str) -> str:
        client = Client(REMOTE_ADDR=address)
        for n in range(10):
            sign_in(client, username, f"wrong-password-{n}")
        response = sign_in(client, username, "any-password-at-all")
        assert response.status_code == 429
        html = response.content.decode()
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return html.replace(username, "NAME")

    assert locked_page("director", "10.4.0.1") == locked_page("nobody-here", "10.4.0.2")


@pytest.mark.slow
def test_failed_sign_ins_and_lockouts_are_audited_without_names_or_addresses(users, sim):
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    client = Client(REMOTE_ADDR="10.5.0.1")
    for n in range(10):
        sign_in(client, "director", f"wrong-password-{n}")
    sign_in(client, "director", DEMO_PASSWORD)  # refused while locked: not recorded one by one
    sign_in(Client(REMOTE_ADDR="10.5.0.2"), "13912345678", "wrong-password")  # a phone typed as user name
    entries = new_entries(before)
    assert sorted(e.action for e in entries) == ["login.failed"] * 11 + ["login.locked"]
    director = users["director"]
    assert {(e.subject_type, e.subject_id) for e in entries[:11]} == {("user", str(director.pk))}
    [locked] = [e for e in entries if e.action == "login.locked"]
    assert locked.details["by"] == "account"
    assert locked.details["until"] == (START + dt.timedelta(minutes=5)).isoformat()
    unknown = entries[-1]
    assert (unknown.subject_type, unknown.subject_id) == ("login", "")
    text = repr([(e.actor, e.subject_id, e.purpose, e.details) for e in entries])
    assert "13912345678" not in text and "10.5.0" not in text and "director" not in text
    assert re.fullmatch(r"[0-9a-f]{16}", locked.details["address"])
    assert entries[0].details["address"] == locked.details["address"] != unknown.details["address"]


def test_a_sign_in_with_the_right_password_is_audited(users):
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    client = Client()
    assert sign_in(client, "auditor", DEMO_PASSWORD).status_code == 302
    [entry] = new_entries(before)
    expected = ("login.succeeded", "auditor", str(users["auditor"].pk))
    assert (entry.action, entry.actor, entry.subject_id) == expected


@pytest.mark.slow
def test_banyan_auth_unlock_ends_an_account_lockout(users, sim, capsys):
    client = Client(REMOTE_ADDR="10.6.0.1")
    for n in range(10):
        sign_in(client, "street01", f"wrong-password-{n}")
    assert sign_in(client, "street01", DEMO_PASSWORD).status_code == 429
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    call_command("auth", "unlock", "street01", "--as", "admin")
    assert "unlocked street01" in capsys.readouterr().out
    [entry] = new_entries(before)
    expected = ("login.unlocked", "admin", str(users["street01"].pk))
    assert (entry.action, entry.actor, entry.subject_id) == expected
    assert sign_in(client, "street01", DEMO_PASSWORD).status_code == 302


@pytest.mark.slow
def test_banyan_auth_unlock_ends_an_address_lockout(users, sim, settings):
    settings.BANYAN_LOGIN = {**settings.BANYAN_LOGIN, "ADDRESS_LIMIT": 12}
    client = Client(REMOTE_ADDR="10.6.0.9")
    for n in range(12):
        sign_in(client, f"someone-{n}", "wrong-password")
    assert sign_in(client, "grid01", DEMO_PASSWORD).status_code == 429
    call_command("auth", "unlock", "--address", "10.6.0.9")
    assert sign_in(client, "grid01", DEMO_PASSWORD).status_code == 302


def test_banyan_auth_unlock_refuses_unknown_accounts_and_non_administrators(users):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no account named 'nobody'"):
        call_command("auth", "unlock", "nobody")
    with pytest.raises(CommandError, match="--as must name an active administrator"):
        call_command("auth", "unlock", "grid01", "--as", "grid02")


WEAK = ["password", "12345678", "123456789012", "qwertyuiop123", "director2026"]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(users, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password, user=users["director"])


def test_the_password_rules_are_djangos_standard_validators_at_twelve_characters():
    from django.contrib.auth.password_validation import get_default_password_validators

    names = {type(v).__name__: v for v in get_default_password_validators()}
    assert set(names) == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
    assert names["MinimumLengthValidator"].min_length == 12


@pytest.mark.parametrize("password", [DEMO_PASSWORD, "banyan-demo-2026"])
def test_the_demo_and_test_passwords_meet_the_rules(users, password):
    from django.contrib.auth.password_validation import validate_password

    validate_password(password, user=users["director"])


def test_setting_a_password_with_django_s_command_applies_the_rules(users, monkeypatch):
    """``banyan changepassword`` (Django's) refuses a common password."""
    from django.contrib.auth.forms import SetPasswordForm

    form = SetPasswordForm(users["grid01"], {"new_password1": "password", "new_password2": "password"})
    assert not form.is_valid()
    assert "new_password2" in form.errors


def test_the_api_takes_no_password_anywhere():
    """The API signs in with bearer tokens or the session only: no operation accepts a password,
    so the sign-in page is the one place a password is tried (and throttled)."""
    import json

    from banyan.api import api

    schema = json.dumps(api.get_openapi_schema()).lower()
    assert "password" not in schema


def test_the_product_hashes_passwords_with_argon2():
    """The suite's own accounts use a fast hasher (banyan/conftest.py); the product's is Argon2 first."""
    from banyan import settings as product_settings

    assert product_settings.PASSWORD_HASHERS == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
