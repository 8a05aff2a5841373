"""The zh-Hans catalogue is complete, not fuzzy, and compiled.

Reads ``banyan/locale/zh_Hans/LC_MESSAGES/django.po`` with a small parser (standard library
only) and compares it with the committed ``django.mo`` through :mod:`gettext`. To refresh:
``cd banyan && ../.venv/bin/banyan makemessages -l zh_Hans --ignore='tests*'``, translate,
then ``../.venv/bin/banyan compilemessages``.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BANYAN_DIR = Path(__file__).resolve().parents[2]
CATALOGUE = BANYAN_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOGUE / "django.po"
MO_PATH = CATALOGUE / "django.mo"
TEMPLATE_LITERAL = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.+?)\1(?:\s+[^%]*)?%\}""")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid

    def __str__(self) -> str:
        return f"django.po line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def parse_po(text: str) -> list[Entry]:
    """Active entries of a .po file (obsolete ``#~`` entries are left out)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            current, target = None, None
            continue
        if line.startswith("#~"):
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := _KEYWORD.match(line):
            keyword, index, value = match.group(1), match.group(2), ast.literal_eval(match.group(3))
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                current.msgstr[target[1]] = value
            else:
                target = (keyword, None)
                setattr(current, keyword, value)
        elif line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
            if target[0] == "msgstr":
                current.msgstr[target[1]] += value
            else:
                setattr(current, target[0], getattr(current, target[0]) + value)
        else:
            raise AssertionError(f"django.po line {number}: cannot parse {raw!r}")
    return [e for e in entries if e.msgstr]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


def test_catalogue_has_many_entries(entries):
    assert len(entries) > 100


def test_header_declares_the_language(entries):
    header = next(e for e in entries if e.msgid == "")
    assert "Language: zh_Hans" in header.msgstr[0]
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]


def test_every_msgid_is_translated(entries):
    untranslated = [str(e) for e in entries if e.msgid and not all(e.msgstr.values())]
    assert untranslated == [], "untranslated:\n" + "\n".join(untranslated)


def test_no_entry_is_fuzzy(entries):
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]
    assert fuzzy == [], "fuzzy:\n" + "\n".join(fuzzy)


def test_placeholders_match(entries):
    wrong = []
    for entry in entries:
        if not entry.msgid:
            continue
        # Chinese has one plural form: it says what the plural (the fuller English form) says.
        wanted = set(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr.values():
            if set(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{entry}: {text!r}")
    assert wrong == [], "placeholders differ:\n" + "\n".join(wrong)


def _header_without_creation_date(header: str) -> list[str]:
    # msgfmt leaves POT-Creation-Date out of the .mo, so that builds are reproducible.
    return [line for line in header.splitlines() if not line.startswith("POT-Creation-Date:")]


def test_mo_is_compiled_from_the_po(entries):
    with MO_PATH.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # the parsed .mo: msgid → msgstr

    expected: dict[object, str] = {}
    for entry in entries:
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(entry.key, index)] = text
    header = _header_without_creation_date(expected.pop("", ""))
    compiled = {k: v for k, v in catalog.items() if k != ""}
    assert _header_without_creation_date(catalog.get("", "")) == header, "the .mo header is stale"
    stale = sorted(str(k) for k in expected.keys() ^ compiled.keys())
    assert stale == [], "the .mo is out of date (run compilemessages); differing msgids:\n" + "\n".join(stale)
    changed = sorted(str(k) for k in expected if expected[k] != compiled[k])
    assert changed == [], "the .mo is out of date (run compilemessages); changed msgstrs:\n" + "\n".join(
        changed
    )


def test_template_literals_are_in_the_catalogue(entries):
    """A quick check that makemessages was re-run after templates changed."""
    msgids = {e.msgid for e in entries}
    missing = []
    for template in sorted(BANYAN_DIR.glob("*/templates/**/*.html")):
        for match in TEMPLATE_LITERAL.finditer(template.read_text(encoding="utf-8")):
            if match.group(2) not in msgids:
                missing.append(f"{template.relative_to(BANYAN_DIR)}: {match.group(2)!r}")
    assert missing == [], "run makemessages; not in django.po:\n" + "\n".join(missing)


def _gettext_literals(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_", "gettext", "gettext_lazy"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_python_literals_are_in_the_catalogue(entries):
    """Every _("…") in the code (tests aside) has an entry: makemessages was re-run after code changed."""
    msgids = {e.msgid for e in entries}
    missing = []
    for source in sorted(BANYAN_DIR.rglob("*.py")):
        relative = source.relative_to(BANYAN_DIR)
        if any(part.startswith("tests") or part == "migrations" for part in relative.parts):
            continue
        for line, text in _gettext_literals(ast.parse(source.read_text(encoding="utf-8"))):
            if text not in msgids:
                missing.append(f"{relative}:{line}: {text!r}")
    assert missing == [], "run makemessages; not in django.po:\n" + "\n".join(missing)
