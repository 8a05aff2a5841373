"""Relay tests run on simulated time (a day the seeded responders are on duty) against the seeded
community; official warnings are imported from CAP 1.2 messages written here (zh-CN and en infos), and
emergencies are made directly, as the roll call's tests make them (the activation service is another
part's)."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.emergency.rollcall.tests.conftest import local_day, make_emergency
from banyan.places.models import Region
from banyan.warning.cap import format_cap_datetime, polygon_from_geojson
from banyan.warning.services import import_official_warning

HEADLINE_ZH = "杭州市气象台发布台风红色预警信号"
HEADLINE_EN = "Hangzhou Meteorological Observatory issues a red typhoon warning"
DESCRIPTION_ZH = "受台风“梅花”影响，预计未来12小时内本市将出现12级以上大风，请注意防范。"
DESCRIPTION_EN = "Typhoon Muifa will bring winds of force 12 or more within 12 hours."
INSTRUCTION_ZH = "关好门窗，停止户外活动。"
INSTRUCTION_EN = "Close doors and windows; stay indoors."


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(local_day(10))) as simulated:
        yield simulated


@pytest.fixture
def community(db):
    return Region.objects.filter(kind="community").order_by("pk").first()


@pytest.fixture
def grid_g01(db):
    return Region.objects.get(code="G01", kind="grid")


def _info(language, severity, headline, description, instruction, sender_name, area, expires) -> str:
    return f"""
  <info>
    <language>{language}</language>
    <category>Met</category>
    <event>{"台风" if language == "zh-CN" else "Typhoon"}</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Likely</certainty>
    <expires>{expires}</expires>
    <senderName>{sender_name}</senderName>
    <headline>{headline}</headline>
    <description>{description}</description>
    <instruction>{instruction}</instruction>
    <area><areaDesc>杭州市</areaDesc>{area}</area>
  </info>"""


def cap_message(
    identifier: str,
    *,
    severity: str = "Extreme",
    region: Region | None = None,
    polygon: dict | None = None,
    headline_zh: str = HEADLINE_ZH,
    english: bool = True,
    expires_in: dt.timedelta = dt.timedelta(hours=12),
    cancels=None,
    infos: bool = True,
) -> bytes:
    """A CAP 1.2 warning of 杭州市气象台 with a zh-CN info (and an en one), over ``region``'s outline; with
    ``cancels``, the ``Cancel`` of that warning (``infos=False``: without info blocks)."""
    outline = polygon or (region.boundary if region is not None else None)
    area = f"<polygon>{polygon_from_geojson(outline)}</polygon>" if outline else ""
    now = clock.now()
    expires = format_cap_datetime(now + expires_in)
    blocks = _info(
        "zh-CN", severity, headline_zh, DESCRIPTION_ZH, INSTRUCTION_ZH, "杭州市气象台", area, expires
    )
    if not infos:
        blocks = ""
    elif english:
        sender_en = "Hangzhou Meteorological Observatory"
        blocks += _info(
            "en-US", severity, HEADLINE_EN, DESCRIPTION_EN, INSTRUCTION_EN, sender_en, area, expires
        )
    references = ""
    if cancels is not None:
        cancelled = f"{cancels.sender},{cancels.identifier},{format_cap_datetime(cancels.sent)}"
        references = f"\n  <references>{cancelled}</references>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>hz-weather@example.gov.cn</sender>
  <sent>{format_cap_datetime(now - dt.timedelta(minutes=5))}</sent>
  <status>Actual</status>
  <msgType>{"Cancel" if cancels is not None else "Alert"}</msgType>
  <scope>Public</scope>{references}{blocks}
</alert>""".encode()


def import_warning(identifier: str, **kwargs):
    warning, created = import_official_warning(actor=None, data=cap_message(identifier, **kwargs))
    assert created
    return warning


@pytest.fixture
def emergency(sim, grid_g01):
    return make_emergency([grid_g01])
