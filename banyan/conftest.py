"""Shared fixtures: one small seeded community per test session, accounts by role, API clients.

The test database is seeded once (``banyan.sim`` with a fixed seed); each test runs in a
transaction that is rolled back, so tests may change data freely.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

DEMO_PASSWORD = "test-pass-2026"
SEED_RESIDENTS = 400
SEED = 7


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from banyan.sim.services import seed_community

    with django_db_blocker.unblock():
        seed_community(residents=SEED_RESIDENTS, seed=SEED, demo_password=DEMO_PASSWORD)


@pytest.fixture
def users(db):
    """Demo accounts by username (admin, director, grid01, grid02, auditor, resident01 …)."""
    from banyan.people.models import User

    return {u.username: u for u in User.objects.select_related("region", "resident")}


class ApiClient:
    """A Django test client that speaks JSON to /api/v1/ with a bearer token."""

    def __init__(self, user=None):
        from banyan.core.auth import create_token

        self.client = Client()
        self.headers = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {create_token(user)}"

    def _call(self, method, path, body=None, **extra):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs = dict(headers=self.headers, **extra)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(url, **kwargs)
        try:
            response.data = response.json()
        except ValueError:
            response.data = None
        return response

    def get(self, path, **extra):
        return self._call("get", path, **extra)

    def post(self, path, body=None, **extra):
        return self._call("post", path, body, **extra)

    def patch(self, path, body=None, **extra):
        return self._call("patch", path, body, **extra)


@pytest.fixture
def api(users):
    """``api("grid01").get("residents")`` — a JSON client signed in as that demo account."""

    def make(username: str | None = None) -> ApiClient:
        return ApiClient(users[username] if username else None)

    return make
