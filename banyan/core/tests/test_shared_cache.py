"""Rate limits shared by several ``banyan serve`` processes: ``BANYAN_CACHE=database`` keeps the counts
in the database (table ``banyan_cache``, made by ``banyan migrate``), so that N processes do not allow
N times a limit — the lookup oracle of issue 10 (finding 2) would otherwise open again behind a load
balancer."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from banyan.conftest import make_id_number
from banyan.core.tests.test_deploy import clean_env

pytestmark = pytest.mark.django_db

DATABASE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "banyan_cache"}
}


def _settings(env: dict) -> subprocess.CompletedProcess:
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='banyan.settings'; django.setup(); "
    code += "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_the_setting_chooses_the_cache_and_refuses_anything_else(tmp_path):
    assert _settings(clean_env(tmp_path)).stdout.strip().endswith("LocMemCache")
    assert _settings(clean_env(tmp_path, BANYAN_CACHE="database")).stdout.strip().endswith("DatabaseCache")
    refused = _settings(clean_env(tmp_path, BANYAN_CACHE="redis"))
    assert refused.returncode != 0 and "BANYAN_CACHE must be local or database" in refused.stderr


@pytest.mark.slow
def test_migrate_makes_the_cache_table_when_the_database_keeps_the_counts(tmp_path):
    database = tmp_path / "banyan.sqlite3"
    env = clean_env(tmp_path, BANYAN_CACHE="database", DATABASE_URL=f"sqlite:///{database}", BANYAN_DEMO="1")
    done = subprocess.run(
        [sys.executable, "-m", "banyan", "migrate", "-v0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "banyan_cache" in tables


def test_lookups_are_counted_in_the_database_and_refused_by_it(api, users):
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)
        caches["default"].clear()
        client = api("grid01")
        purpose = "checking a caller's identity for a welfare visit"
        for _ in range(10):
            response = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": purpose})
            assert response.status_code == 200, response.data
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM banyan_cache")
            assert cursor.fetchone()[0] >= 1, "the count lives in the database, where every process reads it"
        response = client.post("residents/lookup", {"id_number": make_id_number(), "purpose": purpose})
        assert response.status_code == 429
