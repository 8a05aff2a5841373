"""`banyan cap import FILE|URL`: every valid sample imports once, every invalid one is refused with
its reason, and URLs are fetched over a local http.server."""

from __future__ import annotations

import http.server
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from banyan.audit.models import AuditEntry
from banyan.warning.cap import CapError, parse_cap
from banyan.warning.models import OfficialWarning

FIXTURES = Path(__file__).parent / "fixtures" / "cap"
VALID = sorted((FIXTURES / "valid").iterdir())
REFUSED = sorted((FIXTURES / "invalid").iterdir()) + sorted((FIXTURES / "security").iterdir())


def run(*args) -> str:
    out = StringIO()
    call_command("cap", "import", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_samples_import_once(db, path):
    cap = parse_cap(path.read_bytes())
    output = run(str(path))
    assert output.startswith("Imported "), output
    warning = OfficialWarning.objects.get(sender=cap.sender, identifier=cap.identifier)
    assert warning.msg_type == cap.msg_type and "alert" in warning.raw
    assert (
        AuditEntry.objects.filter(action="official_warning.import", subject_id=str(warning.pk)).count() == 1
    )
    assert run(str(path)).startswith("Already imported"), "the second import changes nothing"
    assert OfficialWarning.objects.filter(sender=cap.sender, identifier=cap.identifier).count() == 1


def test_grades_and_languages_are_kept(db):
    run(str(FIXTURES / "valid" / "taiwan-wra-reservoir-zh-TW.cap"))
    warning = OfficialWarning.objects.get()
    assert warning.headline_zh and warning.areas


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.name)
def test_invalid_samples_are_refused_with_their_reason(db, path):
    with pytest.raises(CapError) as parsed:
        parse_cap(path.read_bytes())
    with pytest.raises(CommandError) as error:
        run(str(path))
    assert error.value.returncode == 1
    assert str(error.value) == f"Refused {path}: {parsed.value.reason}"
    assert not OfficialWarning.objects.exists()


def test_a_missing_file_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read the file"):
        run(str(tmp_path / "nope.cap"))


def test_a_file_over_1_mb_is_refused(db, tmp_path):
    big = tmp_path / "big.cap"
    big.write_bytes(b"<alert>" + b" " * (1024 * 1024) + b"</alert>")
    with pytest.raises(CommandError, match="larger than 1024 KB"):
        run(str(big))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(FIXTURES), **kwargs)

    def do_GET(self):
        if self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", f"file://{FIXTURES / 'valid' / 'oasis-spec-A3-earthquake.xml'}")
            self.end_headers()
            return
        if self.path == "/to-valid":
            self.send_response(301)
            self.send_header("Location", "/valid/oasis-spec-A3-earthquake.xml")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_import_from_a_url(db, server):
    url = f"{server}/valid/oasis-spec-A2-severe-thunderstorm.xml"
    assert run(url).startswith("Imported ")
    assert OfficialWarning.objects.get().source_url == url
    assert run(url).startswith("Already imported")
    assert run(f"{server}/to-valid").startswith("Imported ")


def test_url_failures_are_refused(db, server):
    with pytest.raises(CommandError, match="404"):
        run(f"{server}/valid/missing.cap")
    with pytest.raises(CommandError, match="file:///.* is not allowed|only http and https"):
        run(f"{server}/to-file")
    with pytest.raises(CommandError, match="only http and https URLs"):
        run(f"file://{FIXTURES / 'valid' / 'oasis-spec-A3-earthquake.xml'}")
    with pytest.raises(CommandError, match="Refused"):
        run(f"{server}/invalid/missing-scope.cap")
    assert not OfficialWarning.objects.exists()


def test_official_warnings_show_in_the_api(api, db):
    run(str(FIXTURES / "valid" / "oasis-spec-A3-earthquake.xml"))
    body = api("grid01").get("official-warnings").data
    assert body["count"] == 1 and body["items"][0]["msg_type"] == "Update"
