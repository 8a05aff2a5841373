"""CAP 1.2 (OASIS Common Alerting Protocol): build, validate and safely parse alert messages; Atom feed.

Pure Python + lxml, no Django. Four entry points:

- ``build_cap(alert)`` turns a :class:`CapAlert` (frozen dataclasses, snake_case names for the CAP elements:
  ``msg_type`` is ``<msgType>``, ``sender_name`` is ``<senderName>`` …) into CAP 1.2 XML in schema order.
- ``validate_cap(xml)`` checks bytes against the vendored OASIS schema (``standards/CAP-v1.2.xsd``) and the
  spec-text rules the schema leaves out; it returns readable ``"line N: …"`` lines, empty when valid.
- ``parse_cap(data)`` reads an official warning from a government feed into an :class:`ImportedCap`. It is
  built for hostile input: a size limit, no DTD, no entities, no network, no XInclude; anything wrong raises
  :class:`CapError` naming the element and line.
- ``atom_feed(entries, …)`` lists alerts in an Atom 1.0 feed, one entry per alert, each linking to its CAP.

Not done here: XML-DSig signatures are neither made nor verified (a ``ds:Signature`` is accepted where the
schema allows it and reported as ``ImportedCap.signed``); CAP wrapped in Atom/RSS/EDXL-DE is not unwrapped
(fetch the entry's CAP link and parse that); CAP 1.0/1.1 are refused.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from banyan.warning.engine import GRADES as GRADE_LEVELS
from banyan.warning.engine import cap_severity

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
SCHEMA_PATH = Path(__file__).resolve().parent / "standards" / "CAP-v1.2.xsd"
MAX_CAP_BYTES = 1024 * 1024

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MESSAGE_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
# Message types that act on earlier messages and so must name them in <references> (CAP 1.2 §3.2.1).
REFERRING_MESSAGE_TYPES = ("Update", "Cancel", "Ack", "Error")

# China's four warning colours (Emergency Response Law 2024, Art. 63): red 一级 highest … blue 四级 lowest.
# The grades and their order are the engine's (warning/engine/rules.py); CAP names their severity.
GRADES = tuple(GRADE_LEVELS)  # blue … red
GRADE_SEVERITY = {grade.code: cap_severity(grade) for grade in GRADE_LEVELS.values()}
GRADE_COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
GRADE_LEVEL_ZH = {"blue": "四级", "yellow": "三级", "orange": "二级", "red": "一级"}
WARNING_COLOUR_PARAMETER = {"zh": "预警颜色", "en": "warningColour"}

# CAP 1.2 §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted characters (< and &)".
_FORBIDDEN_IN_IDENTIFIER = re.compile(r"[\s,<&]")
# The schema's dateTime pattern: seconds, no fraction, explicit offset.
_CAP_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
# Characters XML 1.0 cannot carry at all; free text loses them rather than failing the whole message.
_NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class CapError(ValueError):
    """A CAP document was refused. ``reason`` is one readable sentence naming the element and line;
    ``errors`` holds every problem found (schema validation may report several)."""

    def __init__(self, reason: str, errors: Sequence[str] = ()):
        super().__init__(reason)
        self.reason = reason
        self.errors = tuple(errors) or (reason,)


# ------------------------------------------------------------------------------------------------------------
# Building


@dataclass(frozen=True)
class CapReference:
    """An earlier message: CAP writes it as ``sender,identifier,sent``."""

    sender: str
    identifier: str
    sent: datetime

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{format_cap_datetime(self.sent)}"


@dataclass(frozen=True)
class CapArea:
    """``<area>``: a description and CAP shapes. ``polygons`` are CAP strings (see
    :func:`polygon_from_geojson`), ``circles`` ``"lat,lon km"``, ``geocodes`` ``(valueName, value)``."""

    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    altitude: float | None = None
    ceiling: float | None = None

    def __post_init__(self) -> None:
        _require(self.description.strip(), "area description (<areaDesc>) is empty")
        for polygon in self.polygons:
            _parse_polygon(polygon)
        for circle in self.circles:
            _parse_circle(circle)
        _require(self.ceiling is None or self.altitude is not None, "an area <ceiling> needs an <altitude>")


@dataclass(frozen=True)
class CapInfo:
    """``<info>``: one language's text of the alert. Banyan sends two, ``zh-CN`` and ``en``."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    response_types: tuple[str, ...] = ()
    audience: str = ""
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    web: str = ""
    contact: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[CapArea, ...] = ()

    def __post_init__(self) -> None:
        for name in ("categories", "response_types"):  # a lone string is one value, not its letters
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, (getattr(self, name),))
        _require(self.categories, "an info block needs at least one category")
        _choices("category", self.categories, CATEGORIES)
        _choices("responseType", self.response_types, RESPONSE_TYPES)
        _choices("urgency", (self.urgency,), URGENCIES)
        _choices("severity", (self.severity,), SEVERITIES)
        _choices("certainty", (self.certainty,), CERTAINTIES)
        _require(self.event.strip(), "info <event> is empty")
        _require(
            re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", self.language),
            f"info <language> {self.language!r} is not a language tag such as zh-CN or en",
        )
        for name in ("effective", "onset", "expires"):
            value = getattr(self, name)
            if value is not None:
                format_cap_datetime(value)


@dataclass(frozen=True)
class CapAlert:
    """``<alert>``: the message envelope. ``sent`` and every other time must be timezone-aware."""

    identifier: str
    sender: str
    sent: datetime
    status: str = "Actual"
    msg_type: str = "Alert"
    scope: str = "Public"
    source: str = ""
    restriction: str = ""
    addresses: str = ""
    codes: tuple[str, ...] = ()
    note: str = ""
    references: tuple[CapReference, ...] = ()
    incidents: str = ""
    infos: tuple[CapInfo, ...] = ()

    def __post_init__(self) -> None:
        for name in ("identifier", "sender"):
            value = getattr(self, name)
            _require(value, f"alert <{name}> is empty")
            _require(
                not _FORBIDDEN_IN_IDENTIFIER.search(value),
                f"alert <{name}> {value!r} must not contain spaces, commas, '<' or '&' (CAP 1.2 §3.2.1)",
            )
        format_cap_datetime(self.sent)
        _choices("status", (self.status,), STATUSES)
        _choices("msgType", (self.msg_type,), MESSAGE_TYPES)
        _choices("scope", (self.scope,), SCOPES)
        _require(self.scope != "Restricted" or self.restriction, "scope Restricted needs a <restriction>")
        _require(self.scope != "Private" or self.addresses, "scope Private needs <addresses>")
        _require(
            self.msg_type not in REFERRING_MESSAGE_TYPES or self.references,
            f"msgType {self.msg_type} needs the earlier message(s) in references",
        )


def _require(condition: object, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _choices(element: str, values: Iterable[str], allowed: Sequence[str]) -> None:
    for value in values:
        _require(value in allowed, f"<{element}> {value!r} is not one of {', '.join(allowed)}")


def format_cap_datetime(value: datetime) -> str:
    """An aware datetime as CAP writes it: ``2026-11-28T20:15:00+08:00`` (no fraction; UTC as ``+00:00``)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"CAP times must be timezone-aware, got {value!r}")
    if offset % timedelta(minutes=1):
        raise ValueError(f"CAP offsets are whole minutes, got {offset}")
    return value.replace(microsecond=0).isoformat()


def grade_to_severity(grade: str) -> str:
    """China's warning colour → CAP severity: blue→Minor, yellow→Moderate, orange→Severe, red→Extreme."""
    try:
        return GRADE_SEVERITY[grade.lower()]
    except KeyError:
        raise ValueError(f"unknown warning grade {grade!r}; expected one of {', '.join(GRADES)}") from None


def severity_to_grade(severity: str) -> str | None:
    """The colour a CAP severity corresponds to (``None`` for Unknown or anything else)."""
    return {value: grade for grade, value in GRADE_SEVERITY.items()}.get(severity)


def grade_parameter(grade: str, language: str) -> tuple[str, str]:
    """The ``<parameter>`` carrying the warning colour: ``("预警颜色", "橙色")`` in Chinese,
    ``("warningColour", "orange")`` otherwise."""
    grade_to_severity(grade)  # validates the grade
    grade = grade.lower()
    if language.lower().startswith("zh"):
        return WARNING_COLOUR_PARAMETER["zh"], GRADE_COLOUR_ZH[grade]
    return WARNING_COLOUR_PARAMETER["en"], grade


def polygon_from_geojson(geojson: dict[str, Any]) -> str:
    """A GeoJSON Polygon (``[lon, lat]`` positions) as a CAP polygon: ``"lat,lon lat,lon …"``, ring closed,
    at least four pairs. CAP has no holes, so only the outer ring is kept."""
    if not isinstance(geojson, dict) or geojson.get("type") != "Polygon":
        raise ValueError("expected a GeoJSON Polygon")
    rings = geojson.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
        raise ValueError("a GeoJSON Polygon needs coordinates: a list of rings")
    points = []
    for position in rings[0]:
        if not isinstance(position, list | tuple) or len(position) < 2:
            raise ValueError(f"bad GeoJSON position {position!r}; expected [lon, lat]")
        lon, lat = position[0], position[1]
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (lon, lat)
        ):
            raise ValueError(f"bad GeoJSON position {position!r}; expected numbers")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"position {position!r} is outside lon -180..180, lat -90..90")
        points.append(f"{_number(lat)},{_number(lon)}")
    if points and points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        raise ValueError("a CAP polygon needs at least 3 distinct corners (4 pairs with the ring closed)")
    return " ".join(points)


def _number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")  # 6 decimals ≈ 0.1 m
    return "0" if text == "-0" else text


def build_cap(alert: CapAlert) -> bytes:
    """The CAP 1.2 XML of ``alert`` (UTF-8, with declaration), elements in schema order."""
    root = etree.Element(_cap("alert"), nsmap={None: CAP_NAMESPACE})
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", alert.sender)
    _add(root, "sent", format_cap_datetime(alert.sent))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "source", alert.source)
    _add(root, "scope", alert.scope)
    _add(root, "restriction", alert.restriction)
    _add(root, "addresses", alert.addresses)
    for code in alert.codes:
        _add(root, "code", code)
    _add(root, "note", alert.note)
    _add(root, "references", " ".join(str(reference) for reference in alert.references))
    _add(root, "incidents", alert.incidents)
    for info in alert.infos:
        _add_info(root, info)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_info(root: etree._Element, info: CapInfo) -> None:
    element = etree.SubElement(root, _cap("info"))
    _add(element, "language", info.language)
    for category in info.categories:
        _add(element, "category", category)
    _add(element, "event", info.event)
    for response_type in info.response_types:
        _add(element, "responseType", response_type)
    _add(element, "urgency", info.urgency)
    _add(element, "severity", info.severity)
    _add(element, "certainty", info.certainty)
    _add(element, "audience", info.audience)
    for name, value in info.event_codes:
        _add_pair(element, "eventCode", name, value)
    for name in ("effective", "onset", "expires"):
        value = getattr(info, name)
        if value is not None:
            _add(element, name, format_cap_datetime(value))
    _add(element, "senderName", info.sender_name)
    _add(element, "headline", info.headline)
    _add(element, "description", info.description)
    _add(element, "instruction", info.instruction)
    _add(element, "web", info.web)
    _add(element, "contact", info.contact)
    for name, value in info.parameters:
        _add_pair(element, "parameter", name, value)
    for area in info.areas:
        area_element = etree.SubElement(element, _cap("area"))
        _add(area_element, "areaDesc", area.description)
        for polygon in area.polygons:
            _add(area_element, "polygon", polygon)
        for circle in area.circles:
            _add(area_element, "circle", circle)
        for name, value in area.geocodes:
            _add_pair(area_element, "geocode", name, value)
        if area.altitude is not None:
            _add(area_element, "altitude", _number(area.altitude))
        if area.ceiling is not None:
            _add(area_element, "ceiling", _number(area.ceiling))


def _cap(name: str) -> str:
    return f"{{{CAP_NAMESPACE}}}{name}"


def _add(parent: etree._Element, name: str, text: str) -> None:
    """Append ``<name>text</name>`` unless the text is empty (optional CAP elements are left out)."""
    text = _NOT_XML_CHARACTERS.sub("", text)
    if text:
        etree.SubElement(parent, _cap(name)).text = text


def _add_pair(parent: etree._Element, name: str, value_name: str, value: str) -> None:
    element = etree.SubElement(parent, _cap(name))
    etree.SubElement(element, _cap("valueName")).text = _NOT_XML_CHARACTERS.sub("", value_name)
    etree.SubElement(element, _cap("value")).text = _NOT_XML_CHARACTERS.sub("", value)


# ------------------------------------------------------------------------------------------------------------
# Safe loading and validation


def _safe_parser() -> etree.XMLParser:
    """No DTD, no entity expansion, no network, no huge trees; comments and PIs dropped."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_local = threading.local()


def _schema() -> etree.XMLSchema:
    """The vendored OASIS schema, one per thread (a validator's error log is not shared safely)."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        schema = _local.schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _safe_parser()))
    return schema


def _short(message: str) -> str:
    """libxml2 messages with the CAP namespace left out: ``Element 'audience': …``."""
    return message.replace(f"{{{CAP_NAMESPACE}}}", "")


def _load(data: bytes) -> etree._Element:
    """Parse untrusted bytes into a schema-valid CAP 1.2 ``<alert>`` element, or raise :class:`CapError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"CAP input must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_CAP_BYTES:
        raise CapError(
            f"document is {len(data):,} bytes; CAP messages over {MAX_CAP_BYTES:,} bytes are refused"
        )
    if not data.strip():
        raise CapError("document is empty")
    # A DOCTYPE can declare external entities (local files, URLs): refused outright, before parsing. NUL bytes
    # are dropped for this scan so that UTF-16/32 documents cannot hide the declaration.
    visible = data.replace(b"\x00", b"")
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        position = visible.find(marker)
        if position >= 0:
            line = visible.count(b"\n", 0, position) + 1
            raise CapError(
                f"line {line}: {marker[2:].decode()} declarations are not accepted in CAP messages "
                "(they can pull in local files or URLs); refusing the document"
            )
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as error:
        # The exception's own message only: ``error.error_log`` also holds earlier, unrelated entries.
        message = re.sub(r"\s*,?\s*line \d+, column \d+\s*$", "", error.msg.strip())
        raise CapError(f"not well-formed XML: line {error.lineno}: {message}") from None
    tree = root.getroottree()
    # Second line of defence, should the scan above ever be bypassed: the parser kept the DTD or an entity.
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise CapError("DOCTYPE declarations are not accepted in CAP messages; refusing the document")
    for entity in root.iter(etree.Entity):
        raise CapError(f"line {entity.sourceline}: entity reference {entity.text} is not accepted")
    name = etree.QName(root)
    if name.localname != "alert" or name.namespace != CAP_NAMESPACE:
        hint = ""
        if name.namespace and name.namespace.startswith("urn:oasis:names:tc:emergency:cap:1."):
            hint = " (only CAP 1.2 is accepted)"
        found = (
            f"'{name.localname}' in namespace {name.namespace!r}" if name.namespace else f"'{name.localname}'"
        )
        raise CapError(
            f"line {root.sourceline}: root element is {found}; expected 'alert' in namespace "
            f"{CAP_NAMESPACE!r}{hint}"
        )
    schema = _schema()
    if not schema.validate(tree):
        lines = [f"line {e.line}: {_short(e.message)}" for e in schema.error_log]
        raise CapError(f"does not match the CAP 1.2 schema: {lines[0]}", lines)
    problems = _spec_problems(root)
    if problems:
        raise CapError(f"breaks the CAP 1.2 specification: {problems[0]}", problems)
    return root


def _spec_problems(root: etree._Element) -> list[str]:
    """Rules of the CAP 1.2 text that the schema does not encode."""
    problems = []
    msg_type = _text(root, "msgType")
    references = root.find(_cap("references"))
    if msg_type in REFERRING_MESSAGE_TYPES and not (
        references is not None and (references.text or "").strip()
    ):
        where = root.find(_cap("msgType")) if references is None else references
        problems.append(
            f"line {where.sourceline}: msgType {msg_type} needs <references> naming the earlier "
            "message(s) as 'sender,identifier,sent' (CAP 1.2 §3.2.1); "
            + ("it is empty" if references is not None else "it is missing")
        )
    if references is not None:
        for token in (references.text or "").split():
            try:
                _parse_reference(token)
            except ValueError as error:
                problems.append(f"line {references.sourceline}: <references>: {error}")
    for tag, check in (("polygon", _parse_polygon), ("circle", _parse_circle)):
        for element in root.iter(_cap(tag)):
            try:
                check(element.text or "")
            except ValueError as error:
                problems.append(f"line {element.sourceline}: <{tag}>: {error}")
    return problems


def validate_cap(xml: bytes) -> list[str]:
    """Every problem with ``xml`` as ``"line N: …"`` lines, against the vendored CAP 1.2 schema and the spec's
    text (references, polygons, circles); an empty list means valid."""
    try:
        _load(xml)
    except CapError as error:
        return list(error.errors)
    return []


# ------------------------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class CapCircle:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class ImportedArea:
    description: str
    polygons: tuple[dict[str, Any], ...] = ()  # GeoJSON Polygons, [lon, lat] positions
    circles: tuple[CapCircle, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True)
class ImportedInfo:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: tuple[str, ...] = ()
    audience: str = ""
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    contact: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[ImportedArea, ...] = ()

    @property
    def grade(self) -> str | None:
        """The warning colour matching the CAP severity, if any."""
        return severity_to_grade(self.severity)


@dataclass(frozen=True)
class ImportedCap:
    """An official warning read from a CAP 1.2 feed. ``signed`` says a ``ds:Signature`` was present;
    it is NOT verified."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str = ""
    restriction: str = ""
    addresses: str = ""
    codes: tuple[str, ...] = ()
    note: str = ""
    references: tuple[CapReference, ...] = ()
    incidents: str = ""
    infos: tuple[ImportedInfo, ...] = ()
    signed: bool = False

    def info_for(self, language: str) -> ImportedInfo | None:
        """The info block best matching ``language``: exact tag, same primary language, else the first."""
        wanted = language.lower()
        for matches in (
            lambda tag: tag == wanted,
            lambda tag: tag.split("-")[0] == wanted.split("-")[0],
            lambda tag: True,
        ):
            for info in self.infos:
                if matches(info.language.lower()):
                    return info
        return None


def parse_cap(data: bytes) -> ImportedCap:
    """Read a CAP 1.2 message from untrusted bytes. Refuses (``CapError``) anything over 1 MB, anything with a
    DOCTYPE or entities, non-XML, a root other than CAP 1.2 ``alert`` (any prefix), schema violations, and
    spec-text violations (Update/Cancel without references, malformed references, polygons, circles)."""
    root = _load(data)
    return ImportedCap(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=_datetime(root, "sent"),  # type: ignore[arg-type]  # required by the schema
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        scope=_text(root, "scope"),
        source=_text(root, "source"),
        restriction=_text(root, "restriction"),
        addresses=_text(root, "addresses"),
        codes=tuple(_texts(root, "code")),
        note=_text(root, "note"),
        references=tuple(_parse_reference(token) for token in _text(root, "references").split()),
        incidents=_text(root, "incidents"),
        infos=tuple(_imported_info(element) for element in root.iterchildren(_cap("info"))),
        signed=root.find(f"{{{XMLDSIG_NAMESPACE}}}Signature") is not None,
    )


def _imported_info(element: etree._Element) -> ImportedInfo:
    return ImportedInfo(
        language=_text(element, "language") or "en-US",  # the schema's default
        categories=tuple(_texts(element, "category")),
        event=_text(element, "event"),
        urgency=_text(element, "urgency"),
        severity=_text(element, "severity"),
        certainty=_text(element, "certainty"),
        response_types=tuple(_texts(element, "responseType")),
        audience=_text(element, "audience"),
        event_codes=_pairs(element, "eventCode"),
        effective=_datetime(element, "effective"),
        onset=_datetime(element, "onset"),
        expires=_datetime(element, "expires"),
        sender_name=_text(element, "senderName"),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        web=_text(element, "web"),
        contact=_text(element, "contact"),
        parameters=_pairs(element, "parameter"),
        areas=tuple(_imported_area(area) for area in element.iterchildren(_cap("area"))),
    )


def _imported_area(element: etree._Element) -> ImportedArea:
    altitude, ceiling = _text(element, "altitude"), _text(element, "ceiling")
    return ImportedArea(
        description=_text(element, "areaDesc"),
        polygons=tuple(_parse_polygon(text) for text in _texts(element, "polygon")),
        circles=tuple(_parse_circle(text) for text in _texts(element, "circle")),
        geocodes=_pairs(element, "geocode"),
        altitude=float(altitude) if altitude else None,
        ceiling=float(ceiling) if ceiling else None,
    )


def _text(parent: etree._Element, name: str) -> str:
    child = parent.find(_cap(name))
    return (child.text or "").strip() if child is not None else ""


def _texts(parent: etree._Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in parent.iterchildren(_cap(name))]


def _pairs(parent: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (_text(child, "valueName"), _text(child, "value")) for child in parent.iterchildren(_cap(name))
    )


def _datetime(parent: etree._Element, name: str) -> datetime | None:
    child = parent.find(_cap(name))
    text = (child.text or "").strip() if child is not None else ""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)  # the schema has checked the pattern
    except ValueError:
        raise CapError(f"line {child.sourceline}: <{name}> {text!r} is not a usable date and time") from None


def _parse_reference(token: str) -> CapReference:
    parts = token.split(",")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{token!r} is not a 'sender,identifier,sent' triplet")
    sender, identifier, sent = parts
    if not _CAP_DATETIME.fullmatch(sent):
        raise ValueError(
            f"{token!r}: sent time {sent!r} is not a CAP dateTime such as 2026-11-28T20:15:00+08:00"
        )
    try:
        when = datetime.fromisoformat(sent)
    except ValueError:
        raise ValueError(f"{token!r}: sent time {sent!r} is not a valid date and time") from None
    return CapReference(sender=sender, identifier=identifier, sent=when)


def _coordinates(pair: str) -> tuple[float, float]:
    parts = pair.split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"{pair!r} is not a 'lat,lon' pair") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{pair!r} is outside lat -90..90, lon -180..180")
    return lat, lon


def _parse_polygon(text: str) -> dict[str, Any]:
    """A CAP polygon (``lat,lon`` pairs) as a GeoJSON Polygon (``[lon, lat]``), checking CAP 1.2 §3.2.4:
    at least four pairs, the first and last the same."""
    pairs = [_coordinates(pair) for pair in text.split()]
    if len(pairs) < 4:
        raise ValueError(f"a polygon needs at least 4 coordinate pairs, found {len(pairs)}")
    if pairs[0] != pairs[-1]:
        raise ValueError("a polygon's first and last coordinate pairs must be the same (closed ring)")
    return {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in pairs]]}


def _parse_circle(text: str) -> CapCircle:
    """A CAP circle: ``lat,lon radius`` with the radius in kilometres (CAP 1.2 §3.2.4)."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"{text.strip()!r} is not 'lat,lon radius_km'")
    lat, lon = _coordinates(parts[0])
    try:
        radius = float(parts[1])
    except ValueError:
        raise ValueError(f"circle radius {parts[1]!r} is not a number") from None
    if not (math.isfinite(radius) and radius >= 0):
        raise ValueError(f"circle radius {parts[1]!r} must be a non-negative number of kilometres")
    return CapCircle(latitude=lat, longitude=lon, radius_km=radius)


# ------------------------------------------------------------------------------------------------------------
# Atom


def atom_feed(
    entries: Sequence[CapAlert],
    *,
    feed_id: str,
    title: str,
    updated: datetime,
    self_url: str,
    link_for: Callable[[CapAlert], str],
    author: str = "Banyan",
    language: str | None = None,
) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of ``entries``: per alert its headline, summary (description), ``sent``
    time as ``updated`` and a ``rel="alternate" type="application/cap+xml"`` link to ``link_for(alert)``,
    which also serves as the entry id and so must be absolute. ``language`` picks the info block whose text is
    shown (default: the first)."""
    for url in (feed_id, self_url):
        _require_absolute(url)
    feed = etree.Element(f"{{{ATOM_NAMESPACE}}}feed", nsmap={None: ATOM_NAMESPACE})
    _atom(feed, "id", feed_id)
    _atom(feed, "title", title)
    _atom(feed, "updated", format_cap_datetime(updated))
    etree.SubElement(_atom(feed, "author"), f"{{{ATOM_NAMESPACE}}}name").text = author
    etree.SubElement(
        feed, f"{{{ATOM_NAMESPACE}}}link", rel="self", href=self_url, type="application/atom+xml"
    )
    for alert in entries:
        url = link_for(alert)
        _require_absolute(url)
        info = _pick_info(alert, language)
        entry = _atom(feed, "entry")
        _atom(entry, "id", url)
        _atom(entry, "title", (info.headline or info.event) if info else alert.identifier)
        _atom(entry, "updated", format_cap_datetime(alert.sent))
        if info is not None and info.sender_name:
            etree.SubElement(_atom(entry, "author"), f"{{{ATOM_NAMESPACE}}}name").text = info.sender_name
        etree.SubElement(entry, f"{{{ATOM_NAMESPACE}}}link", rel="alternate", type=CAP_MEDIA_TYPE, href=url)
        summary = (info.description or info.headline) if info else ""
        if summary:
            _atom(entry, "summary", summary)
        if info is not None:
            etree.SubElement(
                entry,
                f"{{{ATOM_NAMESPACE}}}category",
                term=info.severity,
                label=f"CAP severity {info.severity}",
            )
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _atom(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NAMESPACE}}}{name}")
    if text is not None:
        element.text = _NOT_XML_CHARACTERS.sub("", text)
    return element


def _pick_info(alert: CapAlert, language: str | None) -> CapInfo | None:
    if language:
        wanted = language.lower()
        for info in alert.infos:
            if info.language.lower() == wanted or info.language.lower().split("-")[0] == wanted.split("-")[0]:
                return info
    return alert.infos[0] if alert.infos else None


def _require_absolute(url: str) -> None:
    parts = urlsplit(url)
    _require(
        parts.scheme and (parts.netloc or parts.scheme in ("urn", "tag")), f"{url!r} is not an absolute IRI"
    )
