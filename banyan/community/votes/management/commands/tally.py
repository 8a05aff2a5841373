"""``banyan tally FILE.json``: the count of an owners' assembly vote from a JSON file of owners and
ballots (README "Owners' votes (tally)", docs/votes.md), with the same code the web votes use.

Prints one JSON object on stdout; bad input prints what is wrong (the path, e.g. ``ballots[3].owner``,
and what is accepted) on stderr and exits 2, as does an unreadable file or one that is not JSON.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banyan.community.votes.tally import parse_matter, tally
from banyan.core.errors import BanyanError


class Command(BaseCommand):
    help = (
        'Count an owners\' vote (Civil Code Art. 278) from {"item", "owners": [...], "ballots": [...]}; '
        "prints one JSON object with the result and its arithmetic."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the JSON file of the matter's item, owners and ballots")

    def handle(self, *args, file: Path, **options):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise CommandError(f"{file}: cannot read the file ({reason})", returncode=2) from None
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                returncode=2,
            ) from None
        try:
            result = tally(parse_matter(data))
        except BanyanError as error:
            where = f"{error.field}: " if error.field else ""
            raise CommandError(f"{file}: {where}{error.message}", returncode=2) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
