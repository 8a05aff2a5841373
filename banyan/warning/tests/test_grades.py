"""The warning grades and their order are defined once (warning/engine/rules.py, labelled in
warning/choices.py) and every other place — the API, pages, the cockpit's script — takes them from there."""

import json
import re
from pathlib import Path

import pytest

import banyan
from banyan.warning.choices import (
    GRADE_PATTERN,
    GRADES_WORST_FIRST,
    URGENT_GRADES,
    Grade,
    severity,
    severity_expression,
)
from banyan.warning.engine import Grade as Level

PACKAGE = Path(banyan.__file__).parent


def test_the_choices_follow_the_engines_order():
    assert (
        [code for code, _ in Grade.choices]
        == [level.code for level in Level]
        == ["blue", "yellow", "orange", "red"]
    )
    assert GRADES_WORST_FIRST == ("red", "orange", "yellow", "blue")
    assert URGENT_GRADES == {"red", "orange"}
    assert re.fullmatch(GRADE_PATTERN, "orange") and not re.fullmatch(GRADE_PATTERN, "purple")
    assert [severity(g) for g in GRADES_WORST_FIRST] == [4, 3, 2, 1]
    assert severity("purple") == 0


@pytest.mark.django_db
def test_the_sql_ranking_orders_worst_first():
    from banyan.response.models import Category

    codes = list(Category.objects.values_list("code", flat=True)[:4])
    assert len(codes) == 4
    for code, grade in zip(codes, ["yellow", "blue", "red", "orange"], strict=True):
        Category.objects.filter(code=code).update(default_grade=grade)
    ranked = (
        Category.objects.filter(code__in=codes)
        .annotate(s=severity_expression("default_grade"))
        .order_by("-s")
        .values_list("default_grade", flat=True)
    )
    assert list(ranked) == list(GRADES_WORST_FIRST)


def test_the_cockpit_page_serves_the_grades_to_its_script(client, users):
    client.force_login(users["director"])
    page = client.get("/cockpit/").content.decode()
    data = re.search(r'<script id="banyan-grades" type="application/json">(.*?)</script>', page).group(1)
    assert json.loads(data) == {"worst_first": list(GRADES_WORST_FIRST), "urgent": sorted(URGENT_GRADES)}


# Four grade names in a row (a tuple, a list) or a rank map (`red: 0`, `"red": 4`) written out by hand.
HAND_WRITTEN_ORDER = re.compile(
    r"""["'](red|blue)["']\s*,\s*["'](orange|yellow)["']\s*,\s*["'](yellow|orange)["']\s*,\s*["'](blue|red)["']"""
    r"""|\b["']?(red|blue)["']?\s*:\s*[0-4]\s*,\s*["']?(orange|yellow)["']?\s*:\s*[0-4]\s*[,}]"""
)
OWNERS = {PACKAGE / "warning/engine/rules.py", PACKAGE / "warning/choices.py"}


def test_no_other_code_writes_the_grade_order():
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.js")]:
        parts = set(path.relative_to(PACKAGE).parts)
        if parts & {"tests", "tests_browser", "migrations", "vendor"} or path in OWNERS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if HAND_WRITTEN_ORDER.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not offenders, "take the grades' order from banyan.warning.choices:\n" + "\n".join(offenders)
