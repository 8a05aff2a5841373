"""No HTML sinks in Banyan's own JavaScript (issue 10, finding 1: a rule named
``<img src=x onerror=…>`` ran in a street officer's browser through Leaflet's ``bindTooltip``).

Every non-vendor ``.js`` file under ``banyan/`` is scanned. Refused:

* ``innerHTML``, ``outerHTML``, ``insertAdjacentHTML``, ``document.write``/``writeln``,
  ``createContextualFragment``, ``DOMParser``, ``srcdoc``, jQuery-like ``.html(…)``, ``eval``,
  ``new Function``;
* Leaflet's ``bindTooltip``/``bindPopup``/``setContent``/``setTooltipContent``/``setPopupContent``
  called with anything but a DOM node: the argument must be a call of the file's ``textNode(…)``
  helper (text put in with ``textContent``) or a variable whose name ends in ``Node``; Leaflet
  inserts a string as HTML;
* an ``html:`` option (``L.divIcon``) holding anything but one plain string literal or a node.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BANYAN = Path(__file__).resolve().parents[2]

FORBIDDEN = [
    (re.compile(r"\.\s*(innerHTML|outerHTML)\b"), "assigning markup"),
    (re.compile(r"\binsertAdjacentHTML\s*\("), "inserting markup"),
    (re.compile(r"\bdocument\s*\.\s*write(ln)?\s*\("), "document.write"),
    (re.compile(r"\bcreateContextualFragment\s*\("), "parsing markup"),
    (re.compile(r"\bDOMParser\b"), "parsing markup"),
    (re.compile(r"\bsrcdoc\b"), "an iframe's srcdoc"),
    (re.compile(r"\.\s*html\s*\("), "a jQuery-like html()"),
    (re.compile(r"(?<![\w.$])eval\s*\("), "eval"),
    (re.compile(r"\bnew\s+Function\s*\("), "new Function"),
]
LEAFLET_SINK = re.compile(
    r"\.\s*(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\s*\(\s*"
)
NODE_ARGUMENT = re.compile(r"(textNode\(|[A-Za-z_$][\w$]*Node\s*[,)])")
HTML_OPTION = re.compile(r"(?<![\w$])html\s*:\s*")
PLAIN_LITERAL = re.compile(r"""('[^'\\\n]*'|"[^"\\\n]*")\s*[,}\n]""")
NODE_OPTION = re.compile(r"(el\(|textNode\(|[A-Za-z_$][\w$]*Node\s*[,}\n])")


def own_scripts() -> list[Path]:
    return sorted(
        path
        for path in BANYAN.rglob("*.js")
        if "vendor" not in path.relative_to(BANYAN).parts and "node_modules" not in path.parts
    )


def without_comments(source: str) -> str:
    """Blank out /* … */ blocks and whole-line // comments, keeping line numbers."""
    source = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), source, flags=re.DOTALL)
    return "\n".join("" if line.lstrip().startswith("//") else line for line in source.split("\n"))


# The one place a Leaflet tooltip gets its content (``Banyan.textTooltip``, a node holding text).
TOOLTIP_HELPER = BANYAN / "core" / "static" / "banyan" / "js" / "banyan.js"


def sinks(source: str, *, helper: bool = False) -> list[str]:
    """Each HTML sink in ``source`` as "line N: why: the line". Leaflet's tooltip and popup calls stand
    only in the helper (``helper=True``), and there only with a node; elsewhere any call is a sink."""
    code = without_comments(source)
    lines = code.split("\n")
    found: list[tuple[int, str]] = []

    def line_of(offset: int) -> int:
        return code.count("\n", 0, offset) + 1

    for pattern, why in FORBIDDEN:
        for match in pattern.finditer(code):
            found.append((line_of(match.start()), why))
    for match in LEAFLET_SINK.finditer(code):
        if not helper:
            found.append((line_of(match.start()), f"{match.group(1)} outside Banyan.textTooltip (banyan.js)"))
        elif not NODE_ARGUMENT.match(code, match.end()):
            found.append(
                (line_of(match.start()), f"{match.group(1)} with a string (Leaflet inserts it as HTML)")
            )
    for match in HTML_OPTION.finditer(code):
        if not (PLAIN_LITERAL.match(code, match.end()) or NODE_OPTION.match(code, match.end())):
            found.append((line_of(match.start()), "an html: option built from values"))
    return [f"line {number}: {why}: {lines[number - 1].strip()}" for number, why in sorted(found)]


def test_banyan_has_scripts_to_check():
    names = {path.name for path in own_scripts()}
    assert {"cockpit.js", "street.js", "placepicker.js", "banyan.js"} <= names


@pytest.mark.parametrize("path", own_scripts(), ids=lambda path: str(path.relative_to(BANYAN)))
def test_no_html_sinks(path):
    problems = sinks(path.read_text(encoding="utf-8"), helper=path == TOOLTIP_HELPER)
    assert problems == [], f"{path.relative_to(BANYAN)}:\n" + "\n".join(problems)


# What the cockpit, the street view and the place picker did before issue 10: each must be caught.
OLD_LINES = [
    'layer.bindTooltip(building.name + " · " + building.residents + " " + t("residents"));',
    "polygon.bindTooltip(zone.name);",
    '}).bindTooltip(facility.name + " · " + facility.kind_label);',
    '.bindTooltip(device.code + " · " + device.kind + " · " + t(device.status))',
    'marker.bindTooltip(alert.rule + " · " + alert.place);',
    "marker.setTooltipContent(label);",
    "marker.bindTooltip(label);",
    'layer.setTooltipContent(zone.name + " · " + density.toFixed(2) + " " + t("persons-m2"));',
    'shapes[code].bindTooltip(community.name + " · " + (texts[community.state] || community.state));',
    "layer.bindTooltip(building.name);",
    "marker.bindPopup(\n  alert.rule\n);",
    "list.innerHTML = rows;",
    "node.outerHTML = '<b>' + name + '</b>';",
    "box.insertAdjacentHTML('beforeend', html);",
    "document.write(name);",
    "$(box).html(name);",
    "L.divIcon({ className: 'x', html: '<b>' + alert.rule + '</b>' })",
    "L.divIcon({ html: label })",
    "eval(code);",
]


@pytest.mark.parametrize("line", OLD_LINES)
def test_the_rule_catches_the_old_sinks(line):
    assert sinks(line), line
    assert sinks(line, helper=True), line  # the helper itself may not pass a string either


# In the helper, a tooltip is given a node; anywhere else even that is refused (one place to read).
HELPER_LINES = [
    'layer.bindTooltip(textNode(alert.rule + " · " + alert.place));',
    "x.setTooltipContent(tooltipNode);",
]


@pytest.mark.parametrize("line", HELPER_LINES)
def test_tooltips_get_their_content_only_in_the_helper(line):
    assert sinks(line, helper=True) == [], line
    assert sinks(line), line


def test_the_helper_builds_its_node_with_text():
    source = TOOLTIP_HELPER.read_text(encoding="utf-8")
    assert "tooltipNode.textContent = text;" in source
    assert sinks(source, helper=True) == []


SAFE_LINES = [
    "L.divIcon({ className: 'x', html: '<span aria-hidden=\"true\"></span>', iconSize: [2, 2] })",
    'L.divIcon({ html: el("span", { "aria-hidden": "true" }) })',
    "node.textContent = alert.rule;",
    "// a comment may say innerHTML",
    "var evaluation = retrieval(x);",
]


@pytest.mark.parametrize("line", SAFE_LINES)
def test_the_rule_lets_text_and_nodes_through(line):
    assert sinks(line) == [], line


# ECharts builds an HTML tooltip from series and category names (a facility's, a responsible body's)
# unless told to draw it as text: every tooltip option in Banyan's own scripts says renderMode richText.
ECHARTS_TOOLTIP = re.compile(r"(?<![\w$])tooltip\s*:\s*\{([^{}]*)\}")


def html_tooltips(source: str) -> list[str]:
    code = without_comments(source)
    return [
        match.group(0)
        for match in ECHARTS_TOOLTIP.finditer(code)
        if "trigger" in match.group(1) and 'renderMode: "richText"' not in match.group(1)
    ]


@pytest.mark.parametrize("path", own_scripts(), ids=lambda path: str(path.relative_to(BANYAN)))
def test_echarts_tooltips_are_drawn_as_text(path):
    assert html_tooltips(path.read_text(encoding="utf-8")) == []


def test_the_tooltip_rule_catches_an_html_tooltip():
    assert html_tooltips('chart.setOption({ tooltip: { trigger: "axis", confine: true } });')
    assert html_tooltips('x = { tooltip: { renderMode: "richText", trigger: "item" } };') == []
