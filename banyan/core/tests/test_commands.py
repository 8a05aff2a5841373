"""The console script and its commands, run the way operators run them."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from banyan.core import vault
from banyan.people.models import Resident


def test_token_create_prints_a_working_token_as_last_line(users, client):
    out = io.StringIO()
    call_command("token", "create", "grid01", stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    response = client.get("/api/v1/regions?kind=grid", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [r["code"] for r in response.json()["items"]] == [users["grid01"].region.code]
    stored = users["grid01"].api_tokens.get()
    assert token not in (stored.key_hash, stored.prefix) and stored.key_hash != token


def test_token_for_unknown_user_fails_clearly(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no active account named 'nobody'"):
        call_command("token", "create", "nobody")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_console_script_serves_healthz(tmp_path):
    """`banyan serve --host 127.0.0.1 --port N` answers /healthz (its own SQLite file)."""
    import urllib.request

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3",
        "BANYAN_VAR_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "banyan", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        assert body is not None and '"ok"' in body
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_audit_verify_exit_code_from_the_console_script(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3",
        "BANYAN_VAR_DIR": str(tmp_path),
    }
    run = [sys.executable, "-m", "banyan"]
    subprocess.run([*run, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [*run, "seed", "--residents", "60", "--seed", "2", "--demo-password", "pw-12345678"],
        env=env,
        check=True,
        capture_output=True,
    )
    ok = subprocess.run([*run, "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "intact" in ok.stdout
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(tmp_path / "audit.sqlite3")) as db, db:
        db.execute("UPDATE audit_auditentry SET actor = 'mallory' WHERE id = 1")
    broken = subprocess.run([*run, "audit", "verify"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "entry 1" in broken.stderr


@pytest.mark.slow
def test_data_key_rotation_with_rekey(monkeypatch, users):
    existing = [key.decode() for key in vault.keyring().data_keys]
    old_data, old_index = vault.generate_data_key(), vault.generate_index_key()
    monkeypatch.setenv("BANYAN_DATA_KEY", ",".join([old_data, *existing]))
    monkeypatch.setenv("BANYAN_INDEX_KEY", old_index)
    vault.reset_keyring()
    try:
        call_command("vault", "rekey", stdout=io.StringIO())  # everything now under the "old" test keys
        resident = Resident.objects.exclude(phone="").order_by("id").first()
        clear_id, clear_phone = resident.id_number, resident.phone

        new_data, new_index = vault.generate_data_key(), vault.generate_index_key()
        monkeypatch.setenv("BANYAN_DATA_KEY", f"{new_data},{old_data}")
        monkeypatch.setenv("BANYAN_INDEX_KEY", new_index)
        vault.reset_keyring()
        out = io.StringIO()
        call_command("vault", "rekey", stdout=out)
        assert "Resident:" in out.getvalue()

        monkeypatch.setenv("BANYAN_DATA_KEY", new_data)  # the old key is gone
        vault.reset_keyring()
        resident = Resident.objects.get(pk=resident.pk)
        assert (resident.id_number, resident.phone) == (clear_id, clear_phone)
        assert (
            Resident.objects.filter(id_number_index=vault.blind_index("id_number", clear_id)).get()
            == resident
        )
        from banyan.audit.services import verify

        assert verify().ok
    finally:
        vault.reset_keyring()
