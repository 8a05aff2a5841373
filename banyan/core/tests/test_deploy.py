"""Deployment defaults (issue 10, finding 8): ``banyan serve`` and the ASGI/WSGI entry points refuse a
development checkout's secret key and keys outside ``BANYAN_DEMO=1``; ``banyan check --deploy`` passes
with the environment documented in docs/production.md; security headers with ``BANYAN_TLS=1``; the
SQLite files 0600 and ``var/`` 0700."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from banyan.core import deploy

PRODUCTION_DOC = Path(__file__).resolve().parents[3] / "docs" / "production.md"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without any of Banyan's variables, with its own var folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANYAN_") and k != "DATABASE_URL"}
    env["BANYAN_VAR_DIR"] = str(tmp_path / "var")
    env.update(extra)
    return env


def production_keys() -> dict[str, str]:
    return {
        "BANYAN_SECRET_KEY": secrets.token_urlsafe(50),
        "BANYAN_DATA_KEY": Fernet.generate_key().decode(),
        "BANYAN_INDEX_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "BANYAN_AUDIT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def banyan(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "banyan", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


# --- the refusal ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_refuses_a_development_checkout(tmp_path):
    env = clean_env(tmp_path)
    try:
        result = banyan("serve", "--host", "127.0.0.1", "--port", "1", env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("banyan serve started with the development defaults")
    assert result.returncode == 1
    message = result.stderr
    assert "BANYAN_SECRET_KEY is not set" in message
    assert "secrets.token_urlsafe(50)" in message
    assert "banyan vault newkey" in message
    assert "BANYAN_DATA_KEY" in message and "BANYAN_INDEX_KEY" in message and "BANYAN_AUDIT_KEY" in message
    assert "Traceback" not in message
    assert not (tmp_path / "var" / "banyan.keys").exists(), "no key file was made on the way"


@pytest.mark.slow
def test_serve_names_only_what_is_missing(tmp_path):
    keys = production_keys()
    env = clean_env(tmp_path, BANYAN_SECRET_KEY=keys["BANYAN_SECRET_KEY"])
    result = banyan("serve", "--port", "1", env=env)
    assert result.returncode == 1
    assert "BANYAN_SECRET_KEY" not in result.stderr.split("\n", 1)[1]
    assert "banyan vault newkey" in result.stderr


@pytest.mark.parametrize("entry", ["banyan.asgi", "banyan.wsgi"])
@pytest.mark.slow
def test_the_asgi_and_wsgi_entries_refuse_too(tmp_path, entry):
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="banyan.settings")
    result = subprocess.run(
        [sys.executable, "-c", f"import {entry}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "BANYAN_SECRET_KEY is not set" in result.stderr
    env.update(production_keys())
    result = subprocess.run(
        [sys.executable, "-c", f"import {entry}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_demo_mode_allows_the_development_defaults(monkeypatch, tmp_path):
    for name in (
        "BANYAN_SECRET_KEY",
        "BANYAN_DATA_KEY",
        "BANYAN_INDEX_KEY",
        "BANYAN_AUDIT_KEY",
        "BANYAN_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BANYAN_DEMO", "1")
    deploy.refuse_development_defaults()  # no exception
    monkeypatch.setenv("BANYAN_DEMO", "0")
    with pytest.raises(Exception, match="BANYAN_SECRET_KEY"):
        deploy.refuse_development_defaults()


def test_each_development_default_is_named(monkeypatch, tmp_path):
    keys = production_keys()
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BANYAN_KEY_FILE", raising=False)
    assert deploy.development_defaults() == []
    monkeypatch.setenv("BANYAN_SECRET_KEY", "too-short")
    assert deploy.development_defaults() == [
        "BANYAN_SECRET_KEY has 9 characters; use at least 50 random ones: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    ]
    monkeypatch.setenv("BANYAN_SECRET_KEY", keys["BANYAN_SECRET_KEY"])
    monkeypatch.delenv("BANYAN_INDEX_KEY")
    [problem] = deploy.development_defaults()
    assert "creates by itself" in problem and "BANYAN_KEY_FILE" in problem
    key_file = tmp_path / "banyan.keys"
    monkeypatch.setenv("BANYAN_KEY_FILE", str(key_file))
    [problem] = deploy.development_defaults()
    assert "does not exist" in problem
    key_file.write_text(
        f"data={keys['BANYAN_DATA_KEY']}\nindex={keys['BANYAN_INDEX_KEY']}\naudit={keys['BANYAN_AUDIT_KEY']}\n"
    )
    key_file.chmod(0o644)
    [problem] = deploy.development_defaults()
    assert "chmod 600" in problem
    key_file.chmod(0o600)
    assert deploy.development_defaults() == []


# --- check --deploy with the documented environment ---------------------------------------------------


def documented_environment() -> dict[str, str]:
    """The ``NAME=value`` lines of docs/production.md's first sh block, placeholders filled in."""
    text = PRODUCTION_DOC.read_text(encoding="utf-8")
    block = re.search(r"## The environment\s+```sh\n(.*?)```", text, re.DOTALL).group(1)
    generated = production_keys()
    found = {}
    for line in block.splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            name, value = match.groups()
            if value.startswith("<"):
                value = generated.get(name) or secrets.token_urlsafe(32)
            found[name] = value
    return found


def test_the_documented_environment_names_what_production_needs():
    documented = documented_environment()
    for name in (
        "DATABASE_URL",
        "BANYAN_SECRET_KEY",
        "BANYAN_DATA_KEY",
        "BANYAN_INDEX_KEY",
        "BANYAN_AUDIT_KEY",
    ):
        assert name in documented, name
    assert documented.get("BANYAN_TLS") == "1" and documented.get("BANYAN_DEBUG", "0") == "0"
    assert "BANYAN_DEMO" not in documented


@pytest.mark.slow
def test_check_deploy_passes_with_the_documented_environment(tmp_path):
    env = clean_env(tmp_path, **documented_environment())
    result = banyan("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_warns_without_tls(tmp_path):
    documented = documented_environment()
    del documented["BANYAN_TLS"]
    result = banyan("check", "--deploy", "--fail-level", "WARNING", env=clean_env(tmp_path, **documented))
    assert result.returncode == 1
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


@pytest.mark.slow
def test_tls_headers_and_cookies(tmp_path):
    """With BANYAN_TLS=1: http is redirected to https, HSTS for a year with subdomains, secure cookies;
    always: CSP, nosniff, same-origin referrer and opener policy, no framing."""
    script = """
import json
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/login/")
secure = client.get("/login/", secure=True)
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "health": health.status_code,
    "headers": dict(secure.headers),
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "session_secure": settings.SESSION_COOKIE_SECURE,
}))
"""
    env = clean_env(
        tmp_path,
        BANYAN_TLS="1",
        BANYAN_DEMO="1",
        DJANGO_SETTINGS_MODULE="banyan.settings",
        DATABASE_URL=f"sqlite:///{tmp_path}/tls.sqlite3",
    )
    migrate = banyan("migrate", "-v0", env=env, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    result = banyan("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://testserver/login/"]
    assert seen["health"] == 200, "a load balancer's plain-http health check is not redirected"
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert seen["csrf_secure"] is True and seen["session_secure"] is True


# --- file modes ---------------------------------------------------------------------------------------

MODES = """
import json, os, stat
from django.conf import settings
from django.db import connection
from banyan.core import vault
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS t (x)")
    cursor.execute("INSERT INTO t VALUES (1)")
vault.keyring()
name = settings.DATABASES["default"]["NAME"]
paths = {"var": str(settings.VAR_DIR), "db": name, "wal": name + "-wal", "shm": name + "-shm",
         "keys": str(settings.VAR_DIR / "banyan.keys")}
print(json.dumps({k: oct(stat.S_IMODE(os.stat(p).st_mode)) for k, p in paths.items()}))
"""


def file_modes(env: dict) -> dict[str, str]:
    result = banyan("shell", "-c", MODES, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_sqlite_files_and_var_are_private(tmp_path):
    folder = "0o711" if os.geteuid() == 0 else "0o700"  # see _private_sqlite_file in settings.py
    env = clean_env(tmp_path, BANYAN_DEMO="1")
    assert file_modes(env) == {"var": folder, "db": "0o600", "wal": "0o600", "shm": "0o600", "keys": "0o600"}


@pytest.mark.slow
def test_an_older_world_readable_database_is_narrowed(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    database = var / "banyan.sqlite3"
    database.touch()
    database.chmod(0o644)
    env = clean_env(tmp_path, BANYAN_DEMO="1")
    modes = file_modes(env)
    assert modes["db"] == modes["wal"] == modes["shm"] == "0o600"
    assert stat.S_IMODE(var.stat().st_mode) & 0o066 == 0, "nobody else may list var/"
