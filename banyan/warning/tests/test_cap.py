"""CAP 1.2: built messages validate against the OASIS schema, imports are parsed safely, Atom lists alerts.

Fixtures under ``fixtures/cap`` are byte-for-byte copies of ``shared/standards/cap`` (see its SOURCES.md).
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from banyan.warning import cap
from banyan.warning.cap import (
    CapAlert,
    CapArea,
    CapError,
    CapInfo,
    CapReference,
    atom_feed,
    build_cap,
    grade_parameter,
    grade_to_severity,
    parse_cap,
    polygon_from_geojson,
    validate_cap,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cap"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
BEIJING = timezone(timedelta(hours=8))
SENT = datetime(2026, 11, 28, 20, 15, 0, 123456, tzinfo=BEIJING)

ZONE = {
    "type": "Polygon",
    "coordinates": [
        [
            [120.1501, 30.2702],
            [120.1523, 30.2702],
            [120.1523, 30.2719],
            [120.1501, 30.2719],
            [120.1501, 30.2702],
        ]
    ],
}
GARAGE = {
    "type": "Polygon",
    "coordinates": [[[120.1530, 30.2705], [120.1541, 30.2705], [120.1541, 30.2712]]],  # not closed
}


def make_info(language="zh-CN", grade="orange", **overrides):
    chinese = language.startswith("zh")
    values = dict(
        language=language,
        categories=("Met", "Safety"),
        event="地下车库积水" if chinese else "Underground garage flooding",
        urgency="Immediate",
        severity=grade_to_severity(grade),
        certainty="Observed",
        response_types=("Evacuate", "Avoid"),
        effective=SENT,
        expires=SENT + timedelta(hours=6),
        sender_name="桂花社区居委会 <网格 & 物业>"
        if chinese
        else "Osmanthus Community Committee <grid & estate>",
        headline="橙色预警：3号楼地下车库水位 52 cm" if chinese else "Orange warning: garage water at 52 cm",
        description="水位传感器 WL-0007 读数 52 cm，超过 50 cm 阈值。"
        if chinese
        else "Sensor WL-0007 reads 52 cm.",
        instruction="请立即将车辆驶离地下车库，勿涉水。" if chinese else "Move vehicles out; do not wade.",
        web="https://banyan.example.cn/alerts/42",
        contact="0571-88880000",
        parameters=(grade_parameter(grade, language),),
        areas=(
            CapArea(
                description="3号楼地下车库" if chinese else "Building 3 garage",
                polygons=(polygon_from_geojson(ZONE),),
            ),
            CapArea(
                description="广场" if chinese else "Plaza",
                polygons=(polygon_from_geojson(GARAGE),),
                circles=("30.2710,120.1510 0.5",),
                geocodes=(("GB/T 2260", "330106"),),
                altitude=10,
                ceiling=25.5,
            ),
        ),
    )
    values.update(overrides)
    return CapInfo(**values)


def make_alert(**overrides):
    values = dict(
        identifier="banyan-330106-alert-42",
        sender="cap@banyan.example.cn",
        sent=SENT,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=(make_info("zh-CN"), make_info("en")),
    )
    values.update(overrides)
    return CapAlert(**values)


PREVIOUS = CapReference(sender="cap@banyan.example.cn", identifier="banyan-330106-alert-41", sent=SENT)
ALERTS = {
    "bilingual-two-areas": make_alert(),
    "red-update": make_alert(
        msg_type="Update",
        references=(PREVIOUS, replace(PREVIOUS, identifier="x-40", sent=SENT.astimezone(UTC))),
        infos=(make_info("zh-CN", "red"), make_info("en", "red")),
    ),
    "cancel-without-info": make_alert(
        msg_type="Cancel", references=(PREVIOUS,), infos=(), note="已解除 all clear"
    ),
    "restricted-exercise": make_alert(
        status="Exercise",
        scope="Restricted",
        restriction="社区应急队 only",
        codes=("drill", "演练"),
        infos=(make_info("zh-CN", "blue", areas=()),),
    ),
    "private-minimal": make_alert(
        scope="Private",
        addresses="grid01 grid02",
        sent=datetime(2026, 1, 1, tzinfo=UTC),
        infos=(
            CapInfo(
                language="en",
                categories=("Health",),
                event="Inactivity",
                urgency="Expected",
                severity="Moderate",
                certainty="Likely",
            ),
        ),
    ),
}


# -- Colours, polygons, times --


def test_grades_map_to_cap_severity():
    assert [grade_to_severity(g) for g in ("blue", "yellow", "orange", "red")] == [
        "Minor",
        "Moderate",
        "Severe",
        "Extreme",
    ]
    assert grade_to_severity("RED") == "Extreme"
    with pytest.raises(ValueError, match="purple"):
        grade_to_severity("purple")
    assert grade_parameter("orange", "zh-CN") == ("预警颜色", "橙色")
    assert grade_parameter("orange", "en") == ("warningColour", "orange")


def test_polygon_from_geojson_swaps_to_lat_lon_and_keeps_closed_ring():
    assert polygon_from_geojson(ZONE) == (
        "30.2702,120.1501 30.2702,120.1523 30.2719,120.1523 30.2719,120.1501 30.2702,120.1501"
    )


def test_polygon_from_geojson_closes_an_open_ring_and_drops_holes():
    with_hole = {"type": "Polygon", "coordinates": [*GARAGE["coordinates"], [[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert (
        polygon_from_geojson(with_hole) == "30.2705,120.153 30.2705,120.1541 30.2712,120.1541 30.2705,120.153"
    )


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ({"type": "Point", "coordinates": [120, 30]}, "Polygon"),
        ({"type": "Polygon", "coordinates": []}, "rings"),
        ({"type": "Polygon", "coordinates": [[[120, 30], [121, 30], [120, 30]]]}, "at least 3"),
        ({"type": "Polygon", "coordinates": [[[30, 120], [31, 120], [31, 121], [30, 120]]]}, "outside"),
        ({"type": "Polygon", "coordinates": [[[120, "30"], [121, 30], [121, 31]]]}, "numbers"),
    ],
)
def test_polygon_from_geojson_refuses(geojson, message):
    with pytest.raises(ValueError, match=message):
        polygon_from_geojson(geojson)


def test_times_are_cap_datetimes():
    assert cap.format_cap_datetime(SENT) == "2026-11-28T20:15:00+08:00"
    assert cap.format_cap_datetime(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        cap.format_cap_datetime(datetime(2026, 1, 1))  # noqa: DTZ001


# -- Building --


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_built_messages_validate(name):
    xml = build_cap(ALERTS[name])
    assert validate_cap(xml) == []
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_built_message_follows_schema_order_and_escapes_text():
    xml = build_cap(ALERTS["red-update"])
    root = etree.fromstring(xml)
    assert [etree.QName(e).localname for e in root] == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "scope",
        "references",
        "info",
        "info",
    ]
    assert [etree.QName(e).localname for e in root[-1]] == [
        "language",
        "category",
        "category",
        "event",
        "responseType",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "effective",
        "expires",
        "senderName",
        "headline",
        "description",
        "instruction",
        "web",
        "contact",
        "parameter",
        "area",
        "area",
    ]
    area = root[-1][-1]
    assert [etree.QName(e).localname for e in area] == [
        "areaDesc",
        "polygon",
        "circle",
        "geocode",
        "altitude",
        "ceiling",
    ]
    assert root.findtext(f"{CAP}sent") == "2026-11-28T20:15:00+08:00"
    assert root.findtext(f"{CAP}references") == (
        "cap@banyan.example.cn,banyan-330106-alert-41,2026-11-28T20:15:00+08:00 "
        "cap@banyan.example.cn,x-40,2026-11-28T12:15:00+00:00"
    )
    assert "桂花社区居委会 &lt;网格 &amp; 物业&gt;".encode() in xml
    assert root[-2].findtext(f"{CAP}severity") == "Extreme"
    assert root[-2].findtext(f"{CAP}parameter/{CAP}value") == "红色"


def test_built_message_round_trips_through_the_importer():
    alert = ALERTS["bilingual-two-areas"]
    imported = parse_cap(build_cap(alert))
    assert (imported.identifier, imported.sender) == (alert.identifier, alert.sender)
    assert imported.sent == SENT.replace(microsecond=0)
    assert imported.sent.isoformat() == "2026-11-28T20:15:00+08:00"
    assert [info.language for info in imported.infos] == ["zh-CN", "en"]
    chinese = imported.info_for("zh-CN")
    assert chinese.headline == "橙色预警：3号楼地下车库水位 52 cm"
    assert chinese.sender_name == "桂花社区居委会 <网格 & 物业>"
    assert chinese.parameters == (("预警颜色", "橙色"),)
    assert chinese.grade == "orange"
    assert chinese.areas[0].polygons == (ZONE,)
    plaza = chinese.areas[1]
    assert plaza.polygons[0]["coordinates"][0][-1] == [120.153, 30.2705]
    assert plaza.circles == (cap.CapCircle(latitude=30.271, longitude=120.151, radius_km=0.5),)
    assert (plaza.geocodes, plaza.altitude, plaza.ceiling) == ((("GB/T 2260", "330106"),), 10.0, 25.5)
    assert imported.info_for("en").event == "Underground garage flooding"


def test_a_single_category_may_be_a_string():
    assert make_info(categories="Fire", response_types="Evacuate").categories == ("Fire",)


def test_control_characters_are_dropped_from_text():
    info = make_info("en", description="bell\x07 and \x0bvertical tab", areas=())
    assert b"bell and vertical tab" in build_cap(make_alert(infos=(info,)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: make_alert(sent=datetime(2026, 1, 1)), "timezone-aware"),  # noqa: DTZ001
        (lambda: make_alert(identifier="has space"), "spaces"),
        (lambda: make_alert(sender="a,b"), "commas"),
        (lambda: make_alert(status="Live"), "status"),
        (lambda: make_alert(msg_type="Update"), "references"),
        (lambda: make_alert(scope="Restricted"), "restriction"),
        (lambda: make_alert(scope="Private"), "addresses"),
        (lambda: make_info(categories=("Weather",)), "category"),
        (lambda: make_info(categories=()), "category"),
        (lambda: make_info(severity="Bad"), "severity"),
        (lambda: make_info(language="zh CN"), "language"),
        (lambda: CapArea(description=" "), "areaDesc"),
        (lambda: CapArea(description="x", polygons=("30,120 31,120 31,121",)), "at least 4"),
        (lambda: CapArea(description="x", circles=("30,120",)), "radius"),
        (lambda: CapArea(description="x", ceiling=3), "altitude"),
    ],
)
def test_building_refuses_what_cap_forbids(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_validate_cap_reports_lines():
    xml = build_cap(ALERTS["private-minimal"]).replace(b"<scope>Private</scope>", b"")
    errors = validate_cap(xml)
    assert len(errors) == 1
    assert re.match(r"line 9: Element 'addresses': This element is not expected\. .*scope", errors[0])
    assert validate_cap(b"<alert") != []


# -- Importing: the shared samples --

VALID = sorted((FIXTURES / "valid").iterdir())
SIGNED = sorted((FIXTURES / "signature").iterdir())


@pytest.mark.parametrize("path", VALID + SIGNED, ids=lambda p: p.name)
def test_valid_samples_import(path):
    imported = parse_cap(path.read_bytes())
    assert imported.identifier and imported.sender
    assert imported.sent.utcoffset() is not None
    assert imported.msg_type in cap.MESSAGE_TYPES
    for info in imported.infos:
        assert info.event and info.severity in cap.SEVERITIES
        for area in info.areas:
            for polygon in area.polygons:
                ring = polygon["coordinates"][0]
                assert len(ring) >= 4 and ring[0] == ring[-1]


INVALID = {
    "missing-scope.cap": "line 9: Element 'info': This element is not expected. Expected is one of ( source, "
    "scope )",
    "wrong-namespace.cap": "root element is 'alert' in namespace 'urn:oasis:names:tc:emergency:alerts:1.2'",
    "sweden-smhi-element-order.cap": "line 17: Element 'senderName': This element is not expected",
    "wmo-tg-audience-out-of-order.xml": "line 16: Element 'audience': This element is not expected. "
    "Expected is ( certainty )",
    "canada-empty-references-extended-only.cap": "line 12: msgType Update needs <references>",
}


def test_every_invalid_sample_has_an_expected_reason():
    assert sorted(INVALID) == sorted(p.name for p in (FIXTURES / "invalid").iterdir())


@pytest.mark.parametrize(("name", "reason"), sorted(INVALID.items()))
def test_invalid_samples_are_refused_with_a_reason(name, reason):
    with pytest.raises(CapError) as caught:
        parse_cap((FIXTURES / "invalid" / name).read_bytes())
    assert reason in caught.value.reason
    assert validate_cap((FIXTURES / "invalid" / name).read_bytes())[0] in caught.value.reason


def test_prefixed_namespace_is_read():
    imported = parse_cap((FIXTURES / "valid" / "australia-prefixed-ns.cap").read_bytes())
    assert imported.status == "Actual" and imported.scope == "Public"
    circle = imported.infos[0].areas[0].circles[0]
    assert (circle.latitude, circle.longitude, circle.radius_km) == (-35.3888, 147.0598, 25.0)


def test_chinese_sample_with_bom_keeps_text_and_offset():
    imported = parse_cap((FIXTURES / "valid" / "taiwan-wra-reservoir-zh-TW.cap").read_bytes())
    info = imported.info_for("zh-TW")
    assert info.event == "水庫洩洪"
    assert ("alert_color", "紅色") in info.parameters
    assert info.areas[0].geocodes == (("Taiwan_Geocode_100", "1000512"),)
    assert imported.sent.utcoffset() == timedelta(hours=8)


def test_iso_8859_1_sample_is_decoded():
    raw = (FIXTURES / "valid" / "usgs-earthquake-iso8859-1.cap").read_bytes()
    assert b"encoding" in raw.split(b"\n", 1)[0].lower()
    imported = parse_cap(raw)
    assert imported.infos[0].description  # text decoded without error


def test_cancel_references_are_parsed():
    imported = parse_cap((FIXTURES / "valid" / "noaa-wcatwc-tsunami-cancellation.xml").read_bytes())
    assert [r.identifier for r in imported.references] == ["PAAQ-1-mg5a94", "PAAQ-2-mg5a94", "PAAQ-3-mg5a94"]
    assert imported.references[0].sent == datetime(2013, 1, 5, 9, 1, 16, tzinfo=UTC)
    cancel = parse_cap((FIXTURES / "valid" / "ipaws-cancel-with-references.xml").read_bytes())
    assert cancel.msg_type == "Cancel" and cancel.infos == () and len(cancel.references) == 1


def test_missing_language_takes_the_schema_default():
    xml = build_cap(ALERTS["private-minimal"]).replace(b"<language>en</language>", b"")
    assert parse_cap(xml).infos[0].language == "en-US"


def test_signatures_are_accepted_not_verified():
    signed = {p.name: parse_cap(p.read_bytes()).signed for p in SIGNED}
    assert signed == {
        "wmo-tg-invalid_certificate.xml": True,
        "wmo-tg-invalid_digest.xml": True,
        "wmo-tg-invalid_signature.xml": True,
        "wmo-tg-no_signature.xml": False,
        "wmo-tg-valid.xml": True,
    }


# -- Importing: hostile and broken input --


def test_xxe_sample_is_refused_before_parsing():
    with pytest.raises(CapError, match=r"line 3: DOCTYPE declarations are not accepted"):
        parse_cap((FIXTURES / "security" / "xxe-external-entities.cap").read_bytes())


def hostile(path: Path, *, port: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:{port}/evil.dtd" [
  <!ENTITY secret SYSTEM "file://{path}">
  <!ENTITY remote SYSTEM "http://127.0.0.1:{port}/entity">
  <!ENTITY % file SYSTEM "file://{path}">
  <!ENTITY % dtd SYSTEM "http://127.0.0.1:{port}/param.dtd">
  %file;
  %dtd;
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>id-&secret;</identifier>
  <sender>sender&remote;</sender>
  <sent>2026-11-28T20:15:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <note>&secret;</note>
</alert>
"""


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("MARKER-7f3c-do-not-leak\n")
    return path


@pytest.fixture
def listener():
    """A loopback port that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    yield server
    server.close()


def assert_no_connection(server):
    with pytest.raises(TimeoutError):
        server.accept()[0].close()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_external_entities_never_read_the_file_nor_the_network(secret_file, listener, encoding):
    text = hostile(secret_file, port=listener.getsockname()[1])
    data = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"').encode(encoding)
    with pytest.raises(CapError) as caught:
        parse_cap(data)
    assert "DOCTYPE declarations are not accepted" in caught.value.reason
    assert "MARKER" not in repr(caught.value) + " ".join(caught.value.errors)
    assert validate_cap(data) and "MARKER" not in " ".join(validate_cap(data))
    assert_no_connection(listener)


def test_the_parser_itself_resolves_nothing(secret_file, listener):
    """Second line of defence: even past the DOCTYPE scan, the parser expands no entity and loads nothing."""
    data = hostile(secret_file, port=listener.getsockname()[1]).encode()
    root = etree.fromstring(data, cap._safe_parser())
    assert b"MARKER" not in etree.tostring(root.getroottree())
    assert root.getroottree().docinfo.internalDTD is not None  # what _load refuses after parsing
    assert_no_connection(listener)


def test_a_doctype_hidden_from_the_byte_scan_is_refused_after_parsing(secret_file, listener):
    # UTF-7 can write "<!" as "+ADwAIQ-": the byte scan cannot see the declaration; the parsed tree shows it.
    text = hostile(secret_file, port=listener.getsockname()[1]).replace(
        'encoding="UTF-8"', 'encoding="UTF-7"'
    )
    data = text.encode("utf-7").replace(b"<!", b"+ADwAIQ-")
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-7"?>') and b"<!" not in data
    with pytest.raises(CapError) as caught:
        parse_cap(data)
    assert (
        caught.value.reason == "DOCTYPE declarations are not accepted in CAP messages; refusing the document"
    )
    assert "MARKER" not in repr(caught.value)
    assert_no_connection(listener)


def test_entity_expansion_bomb_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
    with pytest.raises(CapError, match="DOCTYPE"):
        parse_cap(bomb + b"<alert>&b;&b;&b;</alert>")


def test_oversized_document_is_refused():
    padding = "预警" * 200_000  # 1.2 MB of UTF-8
    xml = build_cap(make_alert(infos=(make_info("zh-CN", description=padding),)))
    assert len(xml) > cap.MAX_CAP_BYTES
    with pytest.raises(
        CapError, match=r"document is 1,2\d\d,\d\d\d bytes; CAP messages over 1,048,576 bytes"
    ):
        parse_cap(xml)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "document is empty"),
        (b"  \n", "document is empty"),
        (b"this is not XML", "not well-formed XML: line 1: Start tag expected"),
        (b'{"identifier": "x"}', "not well-formed XML: line 1"),
        (
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier>",
            "not well-formed",
        ),
        (b"\xff\xfe\x00garbage", "not well-formed"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "root element is 'feed' in namespace"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", "only CAP 1.2 is accepted"),
        (b"<alert/>", "root element is 'alert'; expected 'alert' in namespace"),
    ],
)
def test_non_cap_input_is_refused(data, message):
    with pytest.raises(CapError) as caught:
        parse_cap(data)
    assert message in caught.value.reason


def test_text_must_be_bytes():
    with pytest.raises(TypeError, match="bytes"):
        parse_cap("<alert/>")  # type: ignore[arg-type]


def spoil(old: bytes, new: bytes) -> bytes:
    xml = build_cap(ALERTS["red-update"])
    assert old in xml
    return xml.replace(old, new, 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            spoil(b"x-40,2026-11-28T12:15:00+00:00", b"x-40"),
            "<references>: 'cap@banyan.example.cn,x-40' is not a 'sender,identifier,sent' triplet",
        ),
        (spoil(b"T12:15:00+00:00", b"T12:15:00Z"), "is not a CAP dateTime"),
        (spoil(b" 30.2702,120.1501</polygon>", b"</polygon>"), "<polygon>: a polygon's first and last"),
        (
            spoil(b"30.2702,120.1523 30.2719,120.1523 ", b""),
            "<polygon>: a polygon needs at least 4 coordinate pairs, found 3",
        ),
        (spoil(b"30.2702,120.1501 ", b"north,east "), "<polygon>: 'north,east' is not a 'lat,lon' pair"),
        (spoil(b"30.2702,120.1501 ", b"95,120.1501 "), "is outside lat -90..90"),
        (
            spoil(b"120.1510 0.5</circle>", b"120.1510</circle>"),
            "<circle>: '30.2710,120.1510' is not 'lat,lon radius_km'",
        ),
        (spoil(b"120.1510 0.5</circle>", b"120.1510 -1</circle>"), "non-negative"),
        (spoil(b"<sent>2026-11-28T20:15:00", b"<sent>2026-11-28T20:15:00.5"), "Element 'sent'"),
        (spoil(b"<severity>Extreme", b"<severity>Catastrophic"), "Element 'severity'"),
    ],
)
def test_spec_text_violations_are_refused_with_line(data, message):
    with pytest.raises(CapError) as caught:
        parse_cap(data)
    assert message in caught.value.reason
    assert re.search(r"line \d+: ", caught.value.reason)


def test_all_problems_are_listed():
    data = spoil(b"x-40,2026-11-28T12:15:00+00:00", b"x-40").replace(b"120.1510 0.5", b"120.1510", 2)
    errors = validate_cap(data)
    assert len(errors) == 3
    assert all(re.match(r"line \d+: <(references|circle)>", e) for e in errors)


# -- Atom --


def test_atom_feed_has_one_entry_per_alert():
    alerts = [ALERTS["bilingual-two-areas"], ALERTS["red-update"], ALERTS["cancel-without-info"]]
    feed = atom_feed(
        alerts,
        feed_id="https://banyan.example.cn/cap/alerts.atom",
        title="Banyan alerts — 桂花社区",
        updated=SENT,
        self_url="https://banyan.example.cn/cap/alerts.atom",
        link_for=lambda alert: f"https://banyan.example.cn/api/v1/alerts/{alert.identifier}/cap",
        language="en",
    )
    root = etree.fromstring(feed, cap._safe_parser())
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}updated") == "2026-11-28T20:15:00+08:00"
    assert root.find(f"{ATOM}link").attrib == {
        "rel": "self",
        "href": "https://banyan.example.cn/cap/alerts.atom",
        "type": "application/atom+xml",
    }
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == "Orange warning: garage water at 52 cm"
    assert first.findtext(f"{ATOM}summary") == "Sensor WL-0007 reads 52 cm."
    assert first.findtext(f"{ATOM}updated") == "2026-11-28T20:15:00+08:00"
    assert first.findtext(f"{ATOM}id") == "https://banyan.example.cn/api/v1/alerts/banyan-330106-alert-42/cap"
    link = first.find(f"{ATOM}link")
    assert link.attrib == {
        "rel": "alternate",
        "type": "application/cap+xml",
        "href": "https://banyan.example.cn/api/v1/alerts/banyan-330106-alert-42/cap",
    }
    assert first.find(f"{ATOM}category").get("term") == "Severe"
    assert entries[2].findtext(f"{ATOM}title") == "banyan-330106-alert-42"  # a Cancel with no info block


def test_atom_feed_defaults_to_the_first_language_and_needs_absolute_links():
    kwargs = dict(feed_id="urn:uuid:0b0d7c3e-6b1a-4c38-9f0e-1d2c3b4a5f60", title="t", updated=SENT)
    feed = atom_feed(
        [make_alert()],
        self_url="https://x.example/a.atom",
        link_for=lambda a: "https://x.example/1",
        **kwargs,
    )
    assert "橙色预警" in etree.fromstring(feed).findtext(f"{ATOM}entry/{ATOM}title")
    with pytest.raises(ValueError, match="absolute"):
        atom_feed(
            [make_alert()], self_url="https://x.example/a.atom", link_for=lambda a: "/api/v1/1/cap", **kwargs
        )
    assert (
        etree.fromstring(atom_feed([], self_url="https://x.example/a.atom", link_for=str, **kwargs))
        is not None
    )


# -- The vendored schema --


def test_vendored_schema_matches_its_sources_note():
    sources = (cap.SCHEMA_PATH.parent / "SOURCES.md").read_text()
    digest = hashlib.sha256(cap.SCHEMA_PATH.read_bytes()).hexdigest()
    assert f"sha256 `{digest}`" in sources
