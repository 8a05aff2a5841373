import tempfile
from pathlib import Path

from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from django.test import RequestFactory

from banyan.core.uploads import MAX_UPLOAD_BYTES


def _temp_files() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("tmp*.upload*"))


def test_large_upload_stays_in_memory():
    body = b"a" * (5 * 1024 * 1024)  # above Django's default 2.5 MB spill-to-disk size
    before = _temp_files()
    request = RequestFactory().post("/x", {"file": SimpleUploadedFile("l.csv", body)})
    upload = request.FILES["file"]
    assert isinstance(upload, InMemoryUploadedFile)
    assert upload.size == len(body)
    assert _temp_files() == before


def test_oversized_upload_is_dropped_not_spooled():
    body = b"a" * (MAX_UPLOAD_BYTES + 1024)
    request = RequestFactory().post("/x", {"file": SimpleUploadedFile("l.csv", body)})
    assert "file" not in request.FILES


def test_api_answers_an_oversized_ledger_with_4xx(api):
    client = api("director")
    upload = SimpleUploadedFile("l.csv", b"a" * (MAX_UPLOAD_BYTES + 1024), content_type="text/csv")
    response = client.client.post(
        "/api/v1/ledgers/residents/import", {"file": upload}, headers=client.headers
    )
    assert 400 <= response.status_code < 500
