"""``banyan readiness [--community CODE] --json FILE``: what a community still lacks before it goes live.

Writes ``{"community", "ready": true|false, "missing": [{"what", "count", "where"}]}`` to FILE (``-``:
stdout) and prints a summary for people to stdout (banyan/cockpit/readiness.py says what each
``what`` means).

Without ``--community``: with one community, its object; with several, the same keys over all of
them (``community`` null, ``ready`` when every one is, ``missing`` one entry per gap with the
communities that have it as ``where`` and the sum of their counts), and each community's own object
in a list under ``communities``.

Exit 0 when ready (every community, without ``--community``), 1 when something is missing, 2 when
the community is unknown (or there is none yet); then FILE is not written.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from banyan.cockpit import readiness
from banyan.places.choices import RegionKind
from banyan.places.models import Region

NOT_READY = 1
UNKNOWN = 2
SHOWN = 10  # places named per gap in the summary (the JSON names all)


class Command(BaseCommand):
    help = (
        "What a community still lacks before going live (grids without a worker, buildings without "
        "units …), as JSON to FILE and a summary; exit 0 when ready, 1 when not, 2 for an unknown community."
    )

    def add_arguments(self, parser):
        parser.add_argument("--community", help="the community's code (default: every community)")
        parser.add_argument(
            "--json", required=True, dest="json_file", help="where to write the JSON ('-': stdout)"
        )

    def handle(self, *args, community, json_file, **options):
        communities = Region.objects.filter(kind=RegionKind.COMMUNITY).order_by("code")
        if community is not None:
            communities = communities.filter(code=community)
            if not communities.exists():
                raise CommandError(
                    f"--community: no community with the code {community!r}.", returncode=UNKNOWN
                )
        results = [readiness.readiness(c) for c in communities]
        if not results:
            raise CommandError(
                "There is no community yet: import one with `banyan import places`.", returncode=UNKNOWN
            )
        data = results[0].as_dict() if len(results) == 1 else readiness.summary(results)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if json_file == "-":
            self.stdout.write(text, ending="")
        else:
            Path(json_file).write_text(text, encoding="utf-8")
        # With the JSON on stdout, the summary goes to stderr so that the JSON stays whole.
        out = self.stderr if json_file == "-" else self.stdout
        with translation.override("en"):
            for result in results:
                self._summary(result, out)
        if not data["ready"]:
            raise CommandError("Not ready: see what is missing above.", returncode=NOT_READY)

    def _summary(self, result: readiness.Readiness, out) -> None:
        code = result.community.code
        if result.ready:
            out.write(f"{code}: ready, nothing is missing.")
            return
        out.write(f"{code}: not ready, {len(result.missing)} kinds of gap:")
        for gap in result.missing:
            shown = ", ".join(gap.where[:SHOWN])
            if len(gap.where) > SHOWN:
                shown += f" … and {len(gap.where) - SHOWN} more"
            out.write(f"  {gap.what} ({readiness.TITLES[gap.what]}): {gap.count}: {shown}")
