"""``banyan import``: bring a real community in from files (README "Bring your own community").

- ``banyan import places FILE --community CODE --name NAME [--format geojson|gpkg|shp|osm]
  [--crs wgs84|gcj02|bd09] [--bbox MINLON,MINLAT,MAXLON,MAXLAT] [--street CODE] [--dry-run]``
  loads the boundary, grids, buildings, facilities, entrances and footpaths (the walking graph),
  creating the community if it does not exist (banyan/places/importer.py).
- ``banyan import devices FILE --community CODE [--dry-run]`` loads devices from a .csv or .xlsx
  (banyan/sensing/device_import.py).
- ``banyan import units FILE --community CODE [--dry-run]`` loads the flats (units) of the community's
  buildings from the property register's flat list, a .csv or .xlsx; ``banyan import units --generate
  --community CODE --flats-per-floor N --area M2 [--first-floor N] [--building CODE …] [--dry-run]`` makes
  them instead, E-FF-FRR in every entrance and floor, for the buildings named or else every building
  without a unit (banyan/people/unit_import.py).

Problems go to stderr one per line; the last line on stdout is one JSON object (the report). Exit 0
when imported (or when a dry run found nothing blocking), 2 when refused: then nothing was written.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from banyan.core.errors import BanyanError
from banyan.people import unit_import
from banyan.places import importer
from banyan.sensing import device_import

CLI_ACTOR = "cli:import"


class Command(BaseCommand):
    help = (
        "Import a community's places and paths (GeoJSON, GeoPackage, Shapefile, OSM PBF) or its devices "
        "(CSV/XLSX); `--dry-run` lists every problem and writes nothing."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        places = sub.add_parser("places", help="boundary, grids, buildings, facilities, entrances, paths")
        places.add_argument("file", type=Path)
        places.add_argument("--community", required=True, help="the community's code (created if new)")
        places.add_argument("--name", required=True, help="the community's name as residents say it")
        places.add_argument("--format", choices=importer.FORMATS, help="default: from the file's suffix")
        places.add_argument("--crs", choices=importer.CRS_CHOICES, default="wgs84")
        places.add_argument("--bbox", help="MINLON,MINLAT,MAXLON,MAXLAT: keep only what lies inside")
        places.add_argument("--street", help="the street a new community joins (default: the only one)")
        places.add_argument("--dry-run", action="store_true", help="list every problem; write nothing")
        devices = sub.add_parser("devices", help="devices from a .csv or .xlsx file")
        devices.add_argument("file", type=Path)
        devices.add_argument("--community", required=True, help="the community's code")
        devices.add_argument("--dry-run", action="store_true", help="list every problem; write nothing")
        units = sub.add_parser("units", help="flats from a .csv or .xlsx flat list, or --generate them")
        units.add_argument(
            "file", type=Path, nargs="?", help="the flat list (房屋清单); none with --generate"
        )
        units.add_argument("--community", required=True, help="the community's code")
        units.add_argument("--generate", action="store_true", help="make E-FF-FRR flats instead of a file")
        units.add_argument(
            "--flats-per-floor", type=int, help="with --generate: flats on each floor of an entrance"
        )
        units.add_argument("--area", help="with --generate: each flat's area in m², e.g. 89.5")
        units.add_argument(
            "--first-floor", type=int, default=1, help="with --generate: lowest floor of flats"
        )
        units.add_argument(
            "--building", action="append", default=[], help="with --generate: only this building (repeatable)"
        )
        units.add_argument("--dry-run", action="store_true", help="list every problem; write nothing")

    def handle(self, *args, what, file, community, dry_run, **options):
        generate = what == "units" and options["generate"]
        if what == "units":
            self._check_units_arguments(file, generate, options)
        elif not file.is_file():
            raise CommandError(_("No file at %(path)s.") % {"path": file}, returncode=2)
        report: importer.Report | device_import.DeviceImportReport | unit_import.UnitImportReport
        try:
            if generate:
                report = unit_import.generate_community_units(
                    actor=CLI_ACTOR,
                    community_code=community,
                    flats_per_floor=options["flats_per_floor"],
                    area_m2=options["area"],
                    first_floor=options["first_floor"],
                    building_codes=options["building"],
                    dry_run=dry_run,
                )
            elif what == "units":
                report = unit_import.import_units(
                    file, community_code=community, dry_run=dry_run, actor=CLI_ACTOR
                )
            elif what == "places":
                report = importer.import_places(
                    file,
                    community_code=community,
                    name=options["name"],
                    fmt=options["format"],
                    crs=options["crs"],
                    bbox=importer.parse_bbox(options["bbox"]),
                    street_code=options["street"],
                    dry_run=dry_run,
                    actor=CLI_ACTOR,
                )
            else:
                report = device_import.import_devices(
                    file, community_code=community, dry_run=dry_run, actor=CLI_ACTOR
                )
        except BanyanError as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise CommandError(f"{where}{exc.message}", returncode=2) from None
        for problem in report.problems:
            self.stderr.write(f"{problem['feature']}: {problem['problem']}")
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        if report.refused:
            raise CommandError(
                ngettext(
                    "%(count)d problem; nothing was imported.",
                    "%(count)d problems; nothing was imported.",
                    len(report.problems),
                )
                % {"count": len(report.problems)},
                returncode=2,
            )

    @staticmethod
    def _check_units_arguments(file, generate: bool, options) -> None:
        if generate:
            if file is not None:
                raise CommandError("give a flat list or --generate, not both", returncode=2)
            missing = [
                f"--{name}" for name in ("flats-per-floor", "area") if options[name.replace("-", "_")] is None
            ]
            if missing:
                raise CommandError(f"--generate needs {' and '.join(missing)}", returncode=2)
            return
        extra = [
            f"--{name}" for name in ("flats-per-floor", "area") if options[name.replace("-", "_")] is not None
        ]
        if options["building"]:
            extra.append("--building")
        if extra:
            raise CommandError(f"{', '.join(extra)} only with --generate", returncode=2)
        if file is None:
            raise CommandError("give the flat list (a .csv or .xlsx file) or --generate", returncode=2)
        if not file.is_file():
            raise CommandError(_("No file at %(path)s.") % {"path": file}, returncode=2)
