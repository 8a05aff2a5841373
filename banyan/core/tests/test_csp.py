"""A strict Content-Security-Policy on every page (issue 10, finding 1 and 8; contract: pages carry a
``Content-Security-Policy`` header whose ``script-src`` has neither ``'unsafe-inline'`` nor
``'unsafe-eval'``), and templates that work under it: no inline script, no ``on…=`` handler, no
``javascript:`` URL, no ``style=`` attribute. The browser side (no violation in Chromium on the
cockpit, the street view, the report form, the task list and the sign-in page) is in
``banyan/tests_browser/test_security.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

BANYAN = Path(__file__).resolve().parents[2]


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict(response, where: str) -> None:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{where}: no Content-Security-Policy header"
    policy = directives(header)
    script = policy.get("script-src", policy.get("default-src"))
    assert script == ["'self'"], f"{where}: script-src {script}"
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, f"{where}: {header}"
    assert policy["default-src"] == ["'self'"], where
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'self'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"], where


# (who, path, expected status): anonymous pages, staff and resident pages, error pages.
PAGES = [
    (None, "/login/", 200),
    (None, "/", 302),
    (None, "/no-such-page/", 404),
    (None, "/api/v1/docs", 302),
    ("director", "/", 200),
    ("director", "/cockpit/", 200),
    ("director", "/alerts/", 200),
    ("director", "/response/incidents/", 200),
    ("director", "/response/matrix/", 200),
    ("director", "/people/ledgers/import/", 200),
    ("director", "/api/v1/docs", 200),
    ("street01", "/cockpit/street/", 200),
    ("grid01", "/response/tasks/", 200),
    ("resident01", "/", 200),
    ("resident01", "/reports/new/", 200),
    ("resident01", "/reports/", 200),
    ("resident01", "/cockpit/", 403),
    ("resident01", "/api/v1/docs", 403),
    ("director", "/places/buildings/999999999/", 404),
    ("director", "/alerts/?grade=%00", 400),
]


@pytest.mark.parametrize(("who", "path", "status"), PAGES)
def test_every_page_carries_a_strict_policy(users, who, path, status):
    client = Client()
    if who:
        client.force_login(users[who])
    response = client.get(path, headers={"Accept-Language": "en"})
    assert response.status_code == status, (who, path, response.status_code)
    assert_strict(response, f"{who or 'anonymous'} {path}")


def test_api_answers_carry_it_too(users):
    client = Client()
    client.force_login(users["director"])
    response = client.get("/api/v1/regions?kind=grid")
    assert response.status_code == 200
    assert_strict(response, "GET /api/v1/regions")


def test_the_header_is_sent_with_debug_off(settings):
    settings.DEBUG = False
    response = Client().get("/login/")
    assert_strict(response, "/login/ with DEBUG off")


# --- templates that work without inline script or style ---------------------------------------------

TEMPLATES = sorted(path for path in BANYAN.rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"javascript:", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
# Data reaches a page as text: no |safe, no {% autoescape off %} (a QR code is an <img>, not markup).
UNESCAPED = re.compile(r"\|\s*safe\b|{%\s*autoescape\s+off", re.I)


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(BANYAN)))
def test_no_inline_script_handler_or_style_in_templates(path):
    text = path.read_text(encoding="utf-8")
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, why in (
            (INLINE_SCRIPT, "an inline <script>"),
            (HANDLER, "an on…= handler"),
            (JS_URL, "a javascript: URL"),
            (STYLE_ATTRIBUTE, "a style= attribute (style-src has no 'unsafe-inline')"),
            (UNESCAPED, "markup from data (|safe or autoescape off)"),
        ):
            if pattern.search(line):
                problems.append(f"line {number}: {why}: {line.strip()}")
    assert problems == [], f"{path.relative_to(BANYAN)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "line",
    [
        "<script>alert(1)</script>",
        '<script type="text/javascript">x()</script>',
        '<button onclick="go()">',
        '<a href="javascript:void(0)">',
        '<span class="bar" style="width: 40%">',
        "<figure>{{ qr_svg|safe }}</figure>",
        "{% autoescape off %}{{ name }}{% endautoescape %}",
    ],
)
def test_the_template_rule_catches_inline_code(line):
    assert any(p.search(line) for p in (INLINE_SCRIPT, HANDLER, JS_URL, STYLE_ATTRIBUTE, UNESCAPED)), line


def test_the_template_rule_lets_external_scripts_and_json_data_through():
    for line in ('<script src="/static/x.js" defer></script>', '<script type="application/json" id="d">'):
        assert not any(p.search(line) for p in (INLINE_SCRIPT, HANDLER, JS_URL, STYLE_ATTRIBUTE)), line


def test_no_python_code_marks_text_as_markup():
    """Text from the server or a person reaches a page through the templates' escaping, never as markup
    made in Python (a report category's symbol goes beside its name as text, not with format_html)."""
    marking = re.compile(r"\b(mark_safe|format_html|format_html_join|SafeString|SafeText)\b")
    offenders = [
        f"{path.relative_to(BANYAN)}:{number}"
        for path in sorted(BANYAN.rglob("*.py"))
        if "tests" not in path.relative_to(BANYAN).parts and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if marking.search(line)
    ]
    assert offenders == []
