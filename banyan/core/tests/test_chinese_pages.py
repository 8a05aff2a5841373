"""Every page a role may open, read in Chinese: no English words and no internal codes in what a
person reads (the page's text, its headings and labels, its buttons, and the titles, placeholders
and accessible names a screen reader says).

The pages and their objects are those of ``test_pages_by_role`` (its World and PAGES): each page each
role gets 200 for is fetched with ``Accept-Language: zh-hans``. Internal codes may stand as secondary
detail only: inside an element marked ``secondary`` (small grey text), a ``<code>`` or ``<kbd>``, or
an element with ``translate="no"`` (a code a person may need to read out, e.g. a device label).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.test.client import ClientHandler

from banyan.core.tests.test_pages_by_role import (
    ANONYMOUS,
    PAGES,
    PATTERNS,
    ROLES,
    SKIPPED,
    World,
)

# Words a Chinese page may carry in Latin letters: the product's name and well-known abbreviations
# that Chinese readers use as they are.
ALLOWED = {
    "banyan",
    "sos",
    "api",
    "csv",
    "xlsx",
    "pdf",
    "id",
    "cap",
    "sms",
    "qr",
    "app",
    "sla",
    "spo",  # SpO₂
    "lel",  # %LEL, the unit of combustible gas
    "cm",
    "km",
    "kg",
    "mm",
    "kpa",
    "kwh",
    "ppm",
    "db",  # decibels
    "pm",  # PM2.5
    "co",
    "ai",
    "tls",
    "http",
    "https",
    "url",
    "json",
    "mqtt",
    "ip",
    "usb",
    "wifi",
    "ok",
    # file formats and sizes
    "mb",
    "jpeg",
    "png",
    "webp",
    "xml",
    # authenticator apps a person installs by these names
    "freeotp",
    "aegis",
    "google",
    "microsoft",
    "authenticator",
}
WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
# An internal code: letters, digits and dashes/slashes together (B014/1-22-2201, WB-00028, G01,
# ORG-COMMITTEE), or a snake_case identifier (community_director, registered_here).
CODE = re.compile(r"\b(?:[A-Z]{1,5}\d*[-/][\w/-]+|[A-Z]+\d{2,}\w*|[a-z]+(?:_[a-z]+)+)\b")
SPOKEN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "aria-description")
SECONDARY_TAGS = {"code", "kbd", "samp"}
# Not read as page text: code, and what a person typed or pasted (a form's JSON settings).
SKIPPED_CONTENT = {"script", "style", "template", "noscript", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class ReadText(HTMLParser):
    """The text a person reads or hears, without what is marked as secondary detail."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, this element's text is exempt)
        self.read: list[str] = []

    def exempt(self) -> bool:
        return any(exempt for _tag, exempt in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        exempt = (
            tag in SKIPPED_CONTENT
            or tag in SECONDARY_TAGS
            or "secondary" in classes
            or "visually-hidden-code" in classes
            or attributes.get("translate") == "no"
            or attributes.get("lang", "zh").startswith("en")
            or "hidden" in attributes
        )
        if not self.exempt() and not exempt:
            for name in SPOKEN_ATTRIBUTES:
                if attributes.get(name):
                    self.read.append(attributes[name])
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.read.append(attributes["value"])
        if tag not in VOID:
            self.stack.append((tag, exempt))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _exempt = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self.exempt() and data.strip():
            self.read.append(data.strip())


def problems(html: str) -> list[str]:
    parser = ReadText()
    parser.feed(html)
    found = []
    for text in parser.read:
        for code in CODE.findall(text):
            found.append(f"code {code!r} in {text[:80]!r}")
        for word in WORD.findall(CODE.sub(" ", text)):
            if word.lower() not in ALLOWED:
                found.append(f"English {word!r} in {text[:80]!r}")
    return found


def test_the_reader_finds_english_and_codes_but_not_secondary_detail():
    html = (
        '<main><h1>告警</h1><p>设备 <span class="secondary">WB-00028</span></p><p>Two falls</p>'
        '<p>责任主体 ORG-COMMITTEE · community_director</p><button title="Close">关闭</button>'
        "<code>B014/1-22-2201</code><script>var x = 'English';</script><p>SOS 紧急呼叫，PM2.5</p></main>"
    )
    found = problems(html)
    assert "English 'Two' in 'Two falls'" in found
    assert any("'ORG-COMMITTEE'" in f for f in found) and any("'community_director'" in f for f in found)
    assert any("'Close'" in f for f in found)
    assert not any("WB-00028" in f or "B014" in f or "English'" in f or "SOS" in f for f in found)


@pytest.fixture
def chinese_clients(users, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    handler = ClientHandler(enforce_csrf_checks=False)
    made = {}
    for role in ROLES:
        if role == ANONYMOUS:
            continue
        client = Client(headers={"Accept-Language": "zh-hans"}, raise_request_exception=False)
        client.handler = handler
        client.force_login(users[role])
        made[role] = client
    return made


@pytest.mark.parametrize("name", sorted(set(PATTERNS) - set(SKIPPED)))
def test_a_chinese_page_has_no_english_words_or_codes(name, users, chinese_clients):
    world = World(users)
    found = []
    for variant in PAGES.get(name, []):
        if variant.label.startswith(("NUL", "bad", "unknown")):
            continue  # a page asked with bad values shows them back as typed
        url = variant.url(name, world)
        for role, client in chinese_clients.items():
            if variant.expected[role] != 200:
                continue
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for problem in problems(response.content.decode()):
                found.append(f"{url} as {role}: {problem}")
    unique = sorted(set(found))
    assert not unique, f"{len(unique)} problems:\n" + "\n".join(unique)
