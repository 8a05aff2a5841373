"""Resident ledgers from the command line.

``banyan ledger import FILE --as USER [--dry-run]`` and ``banyan ledger export --grid CODE --as USER -o OUT``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banyan.core.errors import BanyanError
from banyan.people import ledgers
from banyan.people.models import User


class Command(BaseCommand):
    help = (
        "Resident ledgers (台账): check or import residents and households from a .csv or .xlsx file, "
        "or export one grid's residents (ID numbers and phones masked) as .xlsx."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        load = sub.add_parser(
            "import", help="import residents from FILE (.csv or .xlsx); any bad row writes nothing"
        )
        load.add_argument("file", type=Path)
        load.add_argument("--dry-run", action="store_true", help="check every row and write nothing")
        load.add_argument("--as", dest="username", required=True, help="the account the import is done as")
        dump = sub.add_parser("export", help="write one grid's residents to an .xlsx file, masked")
        dump.add_argument("--grid", required=True, help="the grid code")
        dump.add_argument("--as", dest="username", required=True, help="the account the export is done as")
        dump.add_argument("-o", "--output", type=Path, required=True, help="the .xlsx file to write")

    def handle(self, *args, verb, username, **options):

        user = User.objects.select_related("region").filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active account named {username!r}")
        try:
            if verb == "import":
                self._import(user, options["file"], dry_run=options["dry_run"])
            else:
                self._export(user, options["grid"], options["output"])
        except BanyanError as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise CommandError(f"{where}{exc.message}") from None

    def _import(self, user, path: Path, *, dry_run: bool) -> None:
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        report = ledgers.import_residents(actor=user, file=path, dry_run=dry_run)
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            rows = len({e.row for e in report.errors})
            raise CommandError(
                f"{rows} of {report.rows} rows have problems; nothing was imported.", returncode=1
            )
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"{report.rows} rows checked; {verb} {report.created_households} households "
            f"and {report.created_residents} residents."
        )

    def _export(self, user, grid: str, output: Path) -> None:
        content = ledgers.export_residents_xlsx(actor=user, grid_code=grid)
        # Even masked, a ledger names people: readable by its owner only.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        self.stdout.write(f"wrote {output} ({len(content)} bytes)")
