"""Ledger endpoints: import residents from CSV/XLSX, export a grid's residents as XLSX.

A revealing export is a POST so that neither the fields nor the purpose land in a URL, a proxy
log or the browser history.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import field_validator

from banyan.core.api import ErrorOut
from banyan.core.schemas import clean_text
from banyan.people import ledgers, stepup

router = Router(tags=["ledgers"])
ERRORS = {403: ErrorOut, 404: ErrorOut}
XLSX_OPENAPI = {
    "responses": {
        200: {
            "description": "An XLSX workbook (attachment).",
            "content": {ledgers.XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


class RowErrorOut(Schema):
    row: int
    field: str
    message: str


class LedgerImportOut(Schema):
    dry_run: bool
    created_households: int
    created_residents: int
    errors: list[RowErrorOut]


class LedgerExportQuery(Schema):
    grid: str = Field(..., min_length=1, max_length=32)

    _text = field_validator("*")(clean_text)


class LedgerExportIn(Schema):
    grid: str = Field(..., min_length=1, max_length=32)
    fields: list[str] = Field(default_factory=list, max_length=10)
    purpose: str = Field("", max_length=500)

    _text = field_validator("*")(clean_text)


@router.post(
    "/ledgers/residents/import",
    response={200: LedgerImportOut, 400: LedgerImportOut | ErrorOut, **ERRORS},
)
def import_resident_ledger(request: HttpRequest, file: File[UploadedFile], dry_run: Form[bool] = True):
    """Check (``dry_run``, the default) or import a resident ledger; any bad row and nothing is written."""
    report = ledgers.import_residents(actor=request.user, file=file, filename=file.name, dry_run=dry_run)
    return Status(200 if report.is_valid else 400, report.as_dict())


def _xlsx_response(content: bytes, grid: str) -> HttpResponse:
    response = HttpResponse(content, content_type=ledgers.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{ledgers.export_filename(grid)}"'
    response["Cache-Control"] = "no-store"
    return response


@router.get("/ledgers/residents.xlsx", response={400: ErrorOut, **ERRORS}, openapi_extra=XLSX_OPENAPI)
def export_resident_ledger(request: HttpRequest, query: Query[LedgerExportQuery]):
    """The residents of one grid as XLSX, ID numbers and phones masked."""
    content = ledgers.export_residents_xlsx(actor=request.user, grid_code=query.grid)
    return _xlsx_response(content, query.grid)


@router.post("/ledgers/residents/export", response={400: ErrorOut, **ERRORS}, openapi_extra=XLSX_OPENAPI)
def export_resident_ledger_revealed(request: HttpRequest, payload: LedgerExportIn):
    """The residents of one grid as XLSX with ``fields`` in clear, for a stated ``purpose`` (audited).
    A session must have entered its second factor within the last minutes (403 ``step_up_required``)."""
    stepup.check(request)
    content = ledgers.export_residents_xlsx(
        actor=request.user, grid_code=payload.grid, reveal_fields=payload.fields, purpose=payload.purpose
    )
    return _xlsx_response(content, payload.grid)
