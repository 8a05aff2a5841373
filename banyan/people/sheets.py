"""What the spreadsheet imports share (flats: banyan/people/unit_import.py; devices:
banyan/sensing/device_import.py): a problem by row and column, the report of counts and problems,
column headings in the reader's language, the first row read into column keys, and the file's bytes
read within a size limit. The resident ledger (banyan/people/ledgers.py) keeps its own, older form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils import translation
from django.utils.translation import gettext as _

from banyan.core.errors import InvalidInput
from banyan.people.ledgers import _cell_text, _csv_rows, _fold, _xlsx_rows


@dataclass(frozen=True)
class Column:
    key: str
    header_zh: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowProblem:
    """A problem of the file (``row`` None, ``feature`` the file or what it names) or of one row and
    column."""

    row: int | None
    column: str
    problem: str
    feature: str = ""

    def as_dict(self) -> dict:
        if self.row is None:
            return {"feature": self.feature or _("file"), "row": None, "column": "", "problem": self.problem}
        return {
            "feature": _("row %(row)d") % {"row": self.row},
            "row": self.row,
            "column": self.column,
            "problem": self.problem,
        }


@dataclass
class SheetReport:
    """Counts and problems of one import; ``as_dict`` gives the command's last line, with the number
    written (or, on a dry run, that would be) under the report's ``COUNTED`` key."""

    COUNTED = "rows"

    community: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    problem_list: list[RowProblem] = field(default_factory=list)

    @property
    def problems(self) -> list[dict]:
        return [p.as_dict() for p in self.problem_list]

    @property
    def refused(self) -> bool:
        """Every problem blocks: the file is written whole or not at all."""
        return bool(self.problem_list)

    def as_dict(self) -> dict:
        return {
            "community": self.community,
            "dry_run": self.dry_run,
            self.COUNTED: self.created + self.updated,
            "created": self.created,
            "updated": self.updated,
            "problems": self.problems,
        }


class FileProblem(Exception):
    """The file cannot be read as a whole (format, size, header): reported as the file's one problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def listing(items: Iterable[str]) -> str:
    return ("、" if is_chinese() else ", ").join(items)


@dataclass(frozen=True)
class Headings:
    """A sheet's columns: their names in the reader's language and the first row read into keys."""

    columns: Sequence[Column]
    ignored: frozenset[str] = frozenset()

    def name(self, key: str) -> str:
        """A column as a spreadsheet heads it: "楼栋" on Chinese pages, "building (楼栋)" on English ones."""
        column = next(c for c in self.columns if c.key == key)
        return column.header_zh if is_chinese() else f"{column.key} ({column.header_zh})"

    def keys(self, cells: list[str], required: Sequence[tuple[str, ...]]) -> list[str | None]:
        """Each cell of row 1 as a column key (None: a column ignored). A repeated or unknown column,
        or a missing group of ``required`` (any one key of a group will do), is the file's problem."""
        mapping = {_fold(name): c.key for c in self.columns for name in (c.key, c.header_zh, *c.aliases)}
        keys: list[str | None] = []
        unknown = []
        for position, cell in enumerate(cells, start=1):
            folded = _fold(cell)
            if not folded or folded in self.ignored:
                keys.append(None)
            elif folded in mapping:
                key = mapping[folded]
                if key in keys:
                    raise FileProblem(
                        _("Column %(column)d (“%(header)s”) repeats the column %(name)s.")
                        % {"column": position, "header": cell[:40], "name": self.name(key)}
                    )
                keys.append(key)
            else:
                keys.append(None)
                unknown.append(cell)
        accepted = listing(self.name(c.key) for c in self.columns)
        if unknown:
            raise FileProblem(
                _("Unknown column %(columns)s in row 1; the columns are: %(accepted)s.")
                % {"columns": listing(f"“{u[:40]}”" for u in unknown), "accepted": accepted}
            )
        missing = [
            " / ".join(self.name(k) for k in group) for group in required if not set(group) & set(keys)
        ]
        if missing:
            raise FileProblem(
                _("Row 1 lacks the required column %(columns)s; the columns are: %(accepted)s.")
                % {"columns": listing(missing), "accepted": accepted}
            )
        return keys


def too_large(max_bytes: int) -> FileProblem:
    return FileProblem(
        _("The file is larger than %(mb)d MB; split it into several files.") % {"mb": max_bytes // 2**20}
    )


def read_source(source: Path | bytes | IO[bytes], filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and name, refused (:class:`FileProblem`) beyond ``max_bytes``."""
    if isinstance(source, Path):
        if source.stat().st_size > max_bytes:
            raise too_large(max_bytes)
        return source.read_bytes(), filename or source.name
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
        filename = filename or getattr(source, "name", "") or ""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    return data, filename or ""


def parse_rows(
    data: bytes,
    filename: str,
    *,
    headings: Headings,
    required: Sequence[tuple[str, ...]],
    max_rows: int,
    wrong_format: str,
    clean: Callable[[str, str], str] = lambda key, cell: cell,
) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a .csv or .xlsx file as (spreadsheet row number, cells by column key, each
    through ``clean(key, cell)``); blank rows are skipped. :class:`FileProblem` for a file that cannot be
    read as a whole (``wrong_format`` when it is neither)."""
    suffix = Path(filename).suffix.lower()
    all_keys = [c.key for c in headings.columns]
    try:
        if suffix == ".csv":
            raw_rows: Iterable = _csv_rows(data)
        elif suffix == ".xlsx":
            raw_rows = _xlsx_rows(data)
        else:
            raise FileProblem(wrong_format)
        rows: list[tuple[int, dict[str, str]]] = []
        keys: list[str | None] | None = None
        for number, raw in enumerate(raw_rows, start=1):
            cells = [_cell_text(value) for value in raw]
            if keys is None:
                keys = headings.keys(cells, required)
                continue
            if not any(cells):
                continue
            if len(rows) >= max_rows:
                raise FileProblem(
                    _("The file has more than %(max)d rows; split it into several files.") % {"max": max_rows}
                )
            values = dict.fromkeys(all_keys, "")
            for key, cell in zip(keys, cells, strict=False):
                if key is not None:
                    values[key] = clean(key, cell)
            rows.append((number, values))
    except InvalidInput as exc:  # the ledgers' readers: an unreadable workbook or CSV
        raise FileProblem(exc.message) from None
    if keys is None:
        raise FileProblem(_("The file is empty; the first row must name the columns."))
    return rows
