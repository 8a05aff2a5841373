"""API tokens with expiry and scopes, listed and revoked by their owner and administrators
(issue 10, finding 12): the scopes are enforced in the bearer authentication, for every endpoint."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.people.auth import create_token
from banyan.people.models import ApiToken, Resident
from banyan.sensing.models import Device, Reading

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


class Bearer:
    def __init__(self, raw: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}

    def call(self, method, path, body=None):
        import json

        kwargs = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(f"/api/v1/{path}", **kwargs)
        response.data = (
            response.json() if response.get("Content-Type", "").startswith("application/json") else None
        )
        return response


def _resident_of(user):
    return Resident.objects.filter(household__grid__path__startswith=user.region.path).order_by("id").first()


def _reading(device, minutes_ago=1):
    ts = (NOW - dt.timedelta(minutes=minutes_ago)).isoformat()
    return {"device": device.code, "metric": "smoke_obscuration", "value": 0.1, "ts": ts}


def _community_smoke_detector(community):
    return Device.objects.filter(grid__path__startswith=community.path, kind="smoke").order_by("code").first()


# --- expiry ---------------------------------------------------------------------------------


def test_an_expired_token_is_refused_exactly_like_an_unknown_one(users, now):
    raw = create_token(users["grid01"], days=1)
    assert Bearer(raw).call("get", "regions").status_code == 200
    now.advance(dt.timedelta(days=1, seconds=1))
    expired = Bearer(raw).call("get", "regions")
    unknown = Bearer("byn_" + "x" * 43).call("get", "regions")
    assert expired.status_code == unknown.status_code == 401
    assert expired.data == unknown.data


def test_every_token_expires_within_a_year(users, now):
    raw = create_token(users["grid01"])
    token = ApiToken.objects.get(user=users["grid01"], prefix=raw[:8])
    assert token.expires_at == NOW + dt.timedelta(days=90)
    assert token.scopes == ["write"]
    with translation.override("en"), pytest.raises(Exception, match="1 to 365 days"):
        create_token(users["grid01"], days=366)


# --- scopes ---------------------------------------------------------------------------------


def test_a_read_token_reads_but_may_not_write(users):
    director = users["director"]
    client = Bearer(create_token(director, scopes=["read"]))
    resident = _resident_of(director)
    assert client.call("get", f"residents/{resident.pk}").status_code == 200
    before = AuditEntry.objects.count()
    response = client.call(
        "post", f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": "电话回访"}
    )
    assert response.status_code == 403
    assert response.data["code"] == "token_scope"
    assert response.data["detail"] == "This token's scopes (read) do not allow this request."
    assert AuditEntry.objects.count() == before
    assert client.call("patch", f"residents/{resident.pk}", {"tags": ["volunteer"]}).status_code == 403
    resident.refresh_from_db()
    assert "volunteer" not in resident.tags
    assert client.call("post", "tokens", {"scopes": ["read"]}).status_code == 403


def test_a_write_token_does_what_the_role_allows(users):
    director = users["director"]
    client = Bearer(create_token(director, scopes=["write"]))
    resident = _resident_of(director)
    response = client.call(
        "post", f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": "电话回访"}
    )
    assert response.status_code == 200


def test_a_readings_token_posts_readings_and_nothing_else(users, now):
    director = users["director"]
    device = _community_smoke_detector(director.region)
    client = Bearer(create_token(director, scopes=["readings:write"]))
    response = client.call("post", "readings", {"readings": [_reading(device)]})
    assert response.status_code == 200, response.data
    assert response.data["accepted"] == 1
    assert Reading.objects.filter(device=device).count() == 1
    for method, path in (
        ("get", "residents"),
        ("get", "regions"),
        ("get", f"devices/{device.pk}"),
        ("get", "dead-letters"),
        ("get", "tokens"),
        ("post", "rules"),
    ):
        response = client.call(method, path, {} if method == "post" else None)
        assert response.status_code == 403, (method, path)
        assert response.data["code"] == "token_scope"
    resident = _resident_of(director)
    response = client.call(
        "post", f"residents/{resident.pk}/reveal", {"fields": ["phone"], "purpose": "电话回访"}
    )
    assert response.status_code == 403
    # Nor outside the API: the Atom feed treats it as no sign-in.
    atom = Client().get("/cap/alerts.atom", headers={"Authorization": client.headers["Authorization"]})
    assert atom.status_code == 401


def test_a_gateway_account_per_community_needs_no_director(users, outside, now):
    community = users["director"].region
    out = io.StringIO()
    call_command("token", "gateway", community.code, stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.select_related("user").get(prefix=raw[:8])
    gateway = token.user
    assert (gateway.username, gateway.role, gateway.region_id) == (
        f"gateway-{community.code}",
        "property_staff",
        community.pk,
    )
    assert not gateway.has_usable_password()
    assert token.scopes == ["readings:write"]
    inside = _community_smoke_detector(community)
    from banyan.sensing.tests.conftest import make_device

    elsewhere = make_device(unit=outside["sibling"]["unit"], kind="smoke")
    client = Bearer(raw)
    response = client.call("post", "readings", {"readings": [_reading(inside), _reading(elsewhere)]})
    assert response.status_code == 200, response.data
    assert response.data["accepted"] == 1
    assert [i["reason"] for i in response.data["rejected_items"]] == ["unknown_device"]
    assert client.call("get", "residents").status_code == 403
    # A second gateway token for the same community reuses the account.
    call_command("token", "gateway", community.code, stdout=io.StringIO(), stderr=io.StringIO())
    assert gateway.api_tokens.count() == 2


def test_only_roles_that_may_send_readings_get_a_readings_token(api, users):
    response = api("resident01").post("tokens", {"scopes": ["readings:write"]})
    assert response.status_code == 400
    assert response.data["field"] == "scopes"
    assert not [t for t in users["resident01"].api_tokens.all() if "readings:write" in t.scopes]
    with pytest.raises(CommandError, match="scopes: "):
        call_command("token", "create", "grid01", "--scope", "readings:write", stderr=io.StringIO())


def test_unknown_scope_or_lifetime_names_the_field(api):
    response = api("grid01").post("tokens", {"scopes": ["admin"]})
    assert response.status_code == 422
    assert response.data["field"].startswith("scopes")
    response = api("grid01").post("tokens", {"days": 400})
    assert (response.status_code, response.data["field"]) == (422, "days")
    response = api("grid01").post("tokens", {"scopes": []})
    assert (response.status_code, response.data["field"]) == (422, "scopes")


# --- creating, listing, revoking ---------------------------------------------------------------


def test_the_raw_token_is_shown_once(api, users):
    client = api("grid01")
    response = client.post("tokens", {"name": "laptop", "scopes": ["read"], "days": 30})
    assert response.status_code == 201, response.data
    raw = response.data["token"]
    assert raw.startswith("byn_") and response.data["prefix"] == raw[:8]
    assert "no-store" in response["Cache-Control"]
    assert response.data["scopes"] == ["read"]
    listed = client.get("tokens").data
    item = next(i for i in listed["items"] if i["id"] == response.data["id"])
    assert set(item) == {
        "id",
        "user",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "is_revoked",
        "revoked_at",
    }
    assert raw not in str(listed)
    stored = ApiToken.objects.get(pk=item["id"])
    assert raw not in (stored.key_hash, stored.prefix)
    assert Bearer(raw).call("get", "regions").status_code == 200
    entry = AuditEntry.objects.filter(action="token.create", subject_id=str(stored.pk)).get()
    assert entry.actor == "grid01" and entry.details["scopes"] == ["read"]
    assert raw not in str(entry.details) and raw[:8] not in str(entry.details)


def test_owner_lists_own_tokens_admin_lists_everyones(api, users):
    create_token(users["director"], name="director's")
    mine = api("grid01").get("tokens?limit=500").data
    assert mine["count"] >= 1 and {i["user"] for i in mine["items"]} == {"grid01"}
    assert api("grid01").get("tokens?user=director").data == {"count": 0, "items": []}
    everyone = api("admin").get("tokens?limit=500").data
    assert {"grid01", "director", "admin"} <= {i["user"] for i in everyone["items"]}
    directors = api("admin").get("tokens?user=director&limit=500").data
    assert directors["count"] >= 1 and {i["user"] for i in directors["items"]} == {"director"}


def test_owner_revokes_own_token_not_anyone_elses_and_admin_revokes_any(api, users):
    victim = Bearer(create_token(users["director"]))
    token = ApiToken.objects.filter(user=users["director"]).order_by("-id").first()
    response = api("grid01").post(f"tokens/{token.pk}/revoke")
    assert response.status_code == 404
    assert response.data["code"] == "not_found"
    assert api("grid01").post("tokens/999999999/revoke").data == response.data
    assert victim.call("get", "regions").status_code == 200

    response = api("admin").post(f"tokens/{token.pk}/revoke")
    assert response.status_code == 200
    assert response.data["is_revoked"] is True and response.data["revoked_at"]
    assert victim.call("get", "regions").status_code == 401
    entry = AuditEntry.objects.filter(action="token.revoke", subject_id=str(token.pk)).get()
    assert entry.actor == "admin" and entry.details == {"user_id": users["director"].pk}

    own = Bearer(create_token(users["grid01"]))
    own_token = ApiToken.objects.filter(user=users["grid01"]).order_by("-id").first()
    assert own.call("post", f"tokens/{own_token.pk}/revoke").status_code == 200
    assert own.call("get", "regions").status_code == 401


def test_a_token_cannot_mint_a_stronger_or_longer_lived_token(users, now):
    short = Bearer(create_token(users["grid01"], days=10, scopes=["read"]))
    response = short.call("post", "tokens", {"days": 30})
    assert response.status_code == 403  # a read token makes no tokens at all
    writer = Bearer(create_token(users["director"], days=10, scopes=["write"]))
    response = writer.call("post", "tokens", {"days": 30})
    assert response.status_code == 201
    assert response.data["expires_at"] == (NOW + dt.timedelta(days=10)).isoformat().replace("+00:00", "Z")
    response = writer.call("post", "tokens", {"days": 5})
    assert response.data["expires_at"] == (NOW + dt.timedelta(days=5)).isoformat().replace("+00:00", "Z")
    gateway = Bearer(create_token(users["director"], scopes=["readings:write"]))
    assert gateway.call("post", "tokens", {"scopes": ["write"]}).status_code == 403


# --- the command line --------------------------------------------------------------------------


def test_cli_create_with_scopes_and_days_prints_the_token_last(users, now):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "token",
        "create",
        "director",
        "--scope",
        "read",
        "--days",
        "7",
        "--name",
        "ci",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(prefix=raw[:8], user=users["director"])
    assert (token.scopes, token.name, token.expires_at) == (["read"], "ci", NOW + dt.timedelta(days=7))
    assert "shown once" in err.getvalue()
    assert AuditEntry.objects.filter(action="token.create", subject_id=str(token.pk), actor="system").exists()
    with pytest.raises(CommandError, match="days: "):
        call_command("token", "create", "director", "--days", "0", stderr=io.StringIO())


def test_cli_list_and_revoke(users, now):
    raw = create_token(users["director"], name="gw")
    token = ApiToken.objects.get(prefix=raw[:8])
    out = io.StringIO()
    call_command("token", "list", "director", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split("\t") == [
        "id",
        "user",
        "prefix",
        "name",
        "scopes",
        "created",
        "last used",
        "expires",
        "state",
    ]
    row = next(line.split("\t") for line in lines[1:] if line.startswith(f"{token.pk}\t"))
    assert row[1:5] == ["director", f"{raw[:8]}…", "gw", "write"] and row[-1] == "live"
    assert raw not in out.getvalue()

    out = io.StringIO()
    call_command("token", "revoke", "--id", str(token.pk), stdout=out)
    assert out.getvalue() == f"revoked token {token.pk} ({raw[:8]}…) of director\n"
    token.refresh_from_db()
    assert token.is_revoked and token.revoked_at == NOW
    out = io.StringIO()
    call_command("token", "list", "director", stdout=out)
    assert f"{token.pk}\tdirector" in out.getvalue() and "\trevoked" in out.getvalue()

    create_token(users["director"])
    out = io.StringIO()
    call_command("token", "revoke", "director", stdout=out)
    assert out.getvalue().startswith("revoked ") and not users["director"].api_tokens.filter(is_revoked=False)


def test_gateway_command_refuses_an_unknown_community(db):
    with pytest.raises(CommandError, match="no community with the code 'nope'"):
        call_command("token", "gateway", "nope")
