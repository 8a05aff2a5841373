"""The "Import places" page (/places/import/): check a file, then import that same file; problems by
feature; who may import where; the checked upload kept by a token in the session, for an hour."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import PermissionDenied
from banyan.people.import_views import NEW, SESSION_KEY
from banyan.places import importer
from banyan.places.models import Building, PathNode, Region
from banyan.places.tests.test_importer import _broken, _write_layer

SURVEY = Path(importer.__file__).parent / "tests" / "data" / "guihuayuan-gcj02.geojson"
URL = reverse("places:import")
DEMO = "330102001001"  # the seed's community, the director's


@pytest.fixture(autouse=True)
def _uploads_here(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def uploads() -> list[Path]:
    from django.conf import settings

    root = Path(settings.VAR_DIR) / "places-imports"
    return sorted(root.iterdir()) if root.is_dir() else []


def survey_bytes(change=None) -> bytes:
    data = json.loads(SURVEY.read_text())
    if change:
        change(data["features"])
    return json.dumps(data, ensure_ascii=False).encode()


def check(client, content: bytes, *, filename: str = "guihuayuan.geojson", **fields):
    body = {"action": "check", "crs": "gcj02", "file": SimpleUploadedFile(filename, content), **fields}
    return client.post(URL, body)


def new_community(**fields) -> dict:
    return {"community": NEW, "code": "GHY", "name": "桂花苑社区", **fields}


def token_of(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "no Import button"
    return found.group(1)


def test_the_grids_page_links_to_the_import_for_those_who_change_places(signed_in):
    for username, offered in (("admin", True), ("street01", True), ("director", True), ("grid01", False)):
        page = signed_in(username).get(reverse("places:grid-list")).content.decode()
        assert (f'href="{URL}"' in page) == offered, username


def test_check_then_import_the_same_gcj02_survey(signed_in):
    client = signed_in("admin")
    response = check(client, survey_bytes(), **new_community())
    page = response.content.decode()
    assert response.status_code == 200
    assert "The check found nothing that blocks the import" in page
    assert '<dd data-count="buildings">4</dd>' in page and '<dd data-count="grids">2</dd>' in page
    assert '<dd data-count="facilities">3</dd>' in page and '<dd data-count="islands">1</dd>' in page
    # The fire station's garden path is an island: listed, not blocking.
    assert '<tr data-blocking="false">' in page and "an island:" in page
    assert not Region.objects.filter(code="GHY").exists() and len(uploads()) == 1
    token = token_of(page)
    assert client.session[SESSION_KEY]["token"] == token

    response = client.post(URL, {"action": "import", "token": token})
    assert response.status_code == 302 and response["Location"] == URL
    community = Region.objects.get(code="GHY")
    assert community.name_zh == "桂花苑社区" and community.kind == "community"
    assert Building.objects.filter(grid__parent=community).count() == 4
    audit = AuditEntry.objects.filter(action="places.import").latest("pk")
    assert audit.details["crs"] == "gcj02" and audit.details["file"] == "guihuayuan.geojson"
    assert uploads() == [] and SESSION_KEY not in client.session

    page = client.get(URL).content.decode()
    assert "桂花苑社区: 9 new, 0 updated." in page
    assert f"{reverse('cockpit:cockpit')}?community=GHY" in page
    assert reverse("places:grid-editor", args=["GHY"]) in page
    assert "/readiness/?community=GHY" in page
    assert "9 new" not in client.get(URL).content.decode()  # said once


def test_a_broken_file_shows_its_problems_by_feature_and_nothing_is_written(signed_in):
    client = signed_in("director")
    before = (Region.objects.count(), Building.objects.count(), PathNode.objects.count())
    page = check(client, survey_bytes(_broken), community=DEMO).content.decode()
    assert "problems block the import. Nothing was imported" in page
    assert '<th scope="row"><span class="note">building b2 (2幢)</span></th>' in page
    assert "invalid geometry: Self-intersection" in page
    assert '<th scope="row"><span class="note">building b9 (9幢)</span></th>' in page
    assert "stands outside every grid" in page
    assert '<tr data-blocking="true">' in page
    assert 'name="token"' not in page  # no Import button
    assert uploads() == [] and SESSION_KEY not in client.session
    assert (Region.objects.count(), Building.objects.count(), PathNode.objects.count()) == before


def test_the_page_in_chinese_names_features_in_chinese(signed_in):
    client = signed_in("director", "zh-hans")
    page = check(client, survey_bytes(_broken), community=DEMO).content.decode()
    assert '<th scope="row"><span class="note">楼栋 b2（2幢）</span></th>' in page and "几何图形无效" in page
    assert "是：请更正" in page


def test_a_director_imports_only_into_their_own_community(signed_in, users, outside):
    client = signed_in("director")
    page = client.get(URL).content.decode()
    assert f'<input type="hidden" name="community" value="{DEMO}">' in page
    assert NEW not in page  # no new community for a director
    for fields in ({"community": "T-SIB"}, new_community()):
        page = check(client, survey_bytes(), **fields).content.decode()
        assert "Choose one of the communities in your area." in page
        assert 'name="token"' not in page
    # The service refuses the same, whoever calls it.
    director = users["director"]
    for code in ("T-SIB", "NEWCOMM"):
        with pytest.raises(PermissionDenied):
            importer.import_places(SURVEY, community_code=code, name="x", dry_run=True, actor=director)
    assert not Region.objects.filter(code="NEWCOMM").exists()


def test_a_street_officer_adds_a_community_only_to_their_street(users, outside):
    officer = users["street01"]
    with pytest.raises(PermissionDenied):
        importer.import_places(
            SURVEY, community_code="NEWX", name="x", street_code="T-STREET2", dry_run=True, actor=officer
        )
    report = importer.import_places(SURVEY, community_code="NEWX", name="x", crs="gcj02", actor=officer)
    assert not report.refused
    assert Region.objects.get(code="NEWX").parent == Region.objects.get(code=DEMO).parent


@pytest.mark.parametrize("username", ["grid01", "resident01", "volunteer01", "property01"])
def test_roles_that_do_not_change_places_get_403(signed_in, username):
    client = signed_in(username)
    assert client.get(URL).status_code == 403
    assert check(client, survey_bytes(), community=DEMO).status_code == 403
    assert uploads() == []


def shapefile_zip(tmp_path: Path, *, parts=(".shp", ".shx", ".dbf", ".prj")) -> bytes:
    features = [
        f for f in json.loads(SURVEY.read_text())["features"] if f["properties"]["kind"] == "building"
    ]
    _write_layer(tmp_path / "buildings.shp", "ESRI Shapefile", features)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for suffix in parts:
            archive.write(tmp_path / f"buildings{suffix}", f"survey/buildings{suffix}")
        archive.writestr("../../evil.txt", "not taken")
    return buffer.getvalue()


def test_a_zipped_shapefile_is_checked_and_imported(signed_in, tmp_path):
    client = signed_in("admin")
    page = check(client, shapefile_zip(tmp_path), filename="survey.zip", **new_community()).content.decode()
    assert '<dd data-count="buildings">4</dd>' in page
    folder = uploads()[0]
    assert sorted(p.name for p in folder.iterdir()) == [
        "buildings.dbf",
        "buildings.prj",
        "buildings.shp",
        "buildings.shx",
    ]
    assert client.post(URL, {"action": "import", "token": token_of(page)}).status_code == 302
    assert Building.objects.filter(grid__parent__code="GHY").count() == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("survey.geojson", b"{not json", "Not a GeoJSON file"),
        ("survey.geojson", b'{"type": "Feature"}', "Expected a GeoJSON"),
        ("survey.shp", b"\x00" * 100, "A Shapefile needs its .shx and .dbf beside it"),
        ("survey.zip", b"PK\x03\x04 not a zip", "This .zip file cannot be opened."),
        ("survey.pdf", b"%PDF-1.4", "Choose a .geojson, .gpkg, .zip"),
        ("survey.gpkg", b"not a database at all", "Not a GeoPackage: the file does not start as one"),
        ("survey.osm.pbf", b"\x00\x00\x00\x0dnot a pbf", "Not an OpenStreetMap extract"),
    ],
)
def test_a_bad_file_is_answered_with_a_message(signed_in, name, content, message):
    response = check(signed_in("admin"), content, filename=name, **new_community())
    assert response.status_code == 200
    assert message in response.content.decode()
    assert uploads() == [] and not Region.objects.filter(code="GHY").exists()


def test_a_zip_without_the_shapefiles_parts_is_refused(signed_in, tmp_path):
    content = shapefile_zip(tmp_path, parts=(".shp", ".prj"))
    page = check(signed_in("admin"), content, filename="survey.zip", **new_community()).content.decode()
    assert "needs its .shx, .dbf beside it in the .zip." in page


def test_bad_fields_are_named(signed_in):
    client = signed_in("admin")
    page = check(client, survey_bytes(), **new_community(code="bad code!")).content.decode()
    assert "A community code is 1–24 letters" in page
    page = check(client, survey_bytes(), **new_community(code="G01")).content.decode()
    assert "This code is taken" in page
    page = check(client, survey_bytes(), **new_community(bbox="1,2,3")).content.decode()
    assert "Expected MINLON,MINLAT,MAXLON,MAXLAT" in page
    page = check(client, survey_bytes(), **new_community(crs="epsg3857")).content.decode()
    assert "Choose where the coordinates come from." in page
    assert uploads() == []


def test_the_token_serves_only_its_user_and_only_once(signed_in):
    admin = signed_in("admin")
    token = token_of(check(admin, survey_bytes(), **new_community()).content.decode())
    other = signed_in("street01")
    page = other.post(URL, {"action": "import", "token": token}).content.decode()
    assert "There is no checked file to import" in page
    assert not Region.objects.filter(code="GHY").exists() and len(uploads()) == 1
    page = admin.post(URL, {"action": "import", "token": "x" + token}).content.decode()
    assert "There is no checked file to import" in page
    assert admin.post(URL, {"action": "import", "token": token}).status_code == 302
    before = AuditEntry.objects.filter(action="places.import").count()
    page = admin.post(URL, {"action": "import", "token": token}).content.decode()
    assert "There is no checked file to import" in page
    assert AuditEntry.objects.filter(action="places.import").count() == before


def test_a_checked_file_is_kept_for_an_hour(signed_in, settings):
    settings.BANYAN_SESSION_IDLE_MINUTES = 120  # the session outlives the upload here
    start = dt.datetime(2026, 5, 18, 9, 0, tzinfo=dt.UTC)
    with clock.use(clock.SimulatedClock(start)) as simulated:
        client = signed_in("admin")
        token = token_of(check(client, survey_bytes(), **new_community()).content.decode())
        assert len(uploads()) == 1
        simulated.advance(3601)
        page = client.post(URL, {"action": "import", "token": token}).content.decode()
        assert "There is no checked file to import" in page
        assert uploads() == [] and not Region.objects.filter(code="GHY").exists()


def test_a_zip_that_unpacks_beyond_the_limit_is_refused_and_nothing_is_kept(signed_in, tmp_path, monkeypatch):
    from banyan.places import importer

    content = shapefile_zip(tmp_path)
    monkeypatch.setattr(importer, "MAX_BYTES", 1000)  # the Shapefile's parts hold more than this
    page = check(signed_in("admin"), content, filename="survey.zip", **new_community()).content.decode()
    assert "The Shapefile is larger than 0 MB unpacked." in page
    assert uploads() == [] and not Region.objects.filter(code="GHY").exists()
