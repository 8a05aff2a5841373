"""``banyan import``: bring a real community in from files (README "Bring your own community").

- ``banyan import places FILE --community CODE --name NAME [--format geojson|gpkg|shp|osm]
  [--crs wgs84|gcj02|bd09] [--bbox MINLON,MINLAT,MAXLON,MAXLAT] [--street CODE] [--dry-run]``
  loads the boundary, grids, buildings, facilities, entrances and footpaths (the walking graph),
  creating the community if it does not exist (banyan/places/importer.py).
- ``banyan import devices FILE --community CODE [--dry-run]`` loads devices from a .csv or .xlsx
  (banyan/sensing/device_import.py).

Problems go to stderr one per line; the last line on stdout is one JSON object (the report). Exit 0
when imported (or when a dry run found nothing blocking), 2 when refused: then nothing was written.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banyan.core.errors import BanyanError
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

    def handle(self, *args, what, file, community, dry_run, **options):
        if not file.is_file():
            raise CommandError(f"no file at {file}", returncode=2)
        report: importer.Report | device_import.DeviceImportReport
        try:
            if what == "places":
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
                f"{len(report.problems)} problems; nothing was imported.", returncode=2
            )
