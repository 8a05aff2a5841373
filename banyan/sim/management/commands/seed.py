"""``banyan seed``: create the synthetic demo community (or a street of them) in an empty database.

Accounts (all with the demo password): ``admin``, ``street01`` (sees the whole street) and ``auditor``
once; in community 1 ``director``, ``grid01`` …, ``property01``, ``volunteer01``, ``resident01``; in
community N ≥ 2 ``directorN``, ``gridN_01`` …, ``propertyN_01``, ``volunteerN_01``, ``residentN_01``.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from banyan.core.errors import InvalidInput
from banyan.sim.services import check_seed_options, database_is_empty, seed_street

SUMMARY = (
    ("regions", "regions"),
    ("grids", "grids"),
    ("buildings", "buildings"),
    ("units", "units"),
    ("households", "households"),
    ("residents", "residents"),
    ("care_profiles", "care profiles"),
    ("carers", "carers"),
    ("consents", "consents"),
    ("vehicles", "vehicles"),
    ("facilities", "facilities"),
    ("organisations", "organisations"),
    ("path_nodes", "path nodes"),
    ("path_edges", "path edges"),
    ("users", "accounts"),
    ("devices", "devices"),
    ("matrix_cells", "matrix cells"),
    ("responders", "responders"),
    ("shifts", "shifts"),
    ("hazards", "hazards"),
    ("emergency_plans", "emergency plans"),
)


class Command(BaseCommand):
    help = (
        "Seed a deterministic synthetic street of communities (regions, buildings, residents, care, "
        "devices, rules, responders, accounts)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--communities",
            type=int,
            default=1,
            help="communities side by side in the street, 1 to 10 (default 1); "
            "community N's accounts are directorN, gridN_01 …, propertyN_01, volunteerN_01, residentN_01",
        )
        parser.add_argument(
            "--residents", type=int, default=3000, help="number of residents of each community (default 3000)"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same people"
        )
        parser.add_argument(
            "--demo-password", default="banyan-demo-2026", help="password of every demo account"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when the database is already seeded",
        )

    def handle(self, *args, **options):
        try:
            check_seed_options(
                communities=options["communities"],
                residents=options["residents"],
                demo_password=options["demo_password"],
            )
        except InvalidInput as exc:
            raise _option_error(exc) from None
        if not database_is_empty():
            if options["if_empty"]:
                self.stdout.write("already seeded")
                return
            raise CommandError(
                "The database already holds regions, so it was not seeded again. "
                "Seed an empty database (for example after `banyan flush`), or pass --if-empty."
            )
        started = time.perf_counter()
        try:
            reports = seed_street(
                communities=options["communities"],
                residents=options["residents"],
                seed=options["seed"],
                demo_password=options["demo_password"],
                progress=self.stdout.write,
            )
        except InvalidInput as exc:
            raise _option_error(exc) from None
        elapsed = time.perf_counter() - started
        if len(reports) == 1:
            headline = f"Seeded community {reports[0].community_code} in {elapsed:.1f} s:"
        else:
            headline = f"Seeded {len(reports)} communities in {elapsed:.1f} s:"
        self.stdout.write(self.style.SUCCESS(headline))
        if len(reports) > 1:
            for number, report in enumerate(reports, 1):
                self.stdout.write(
                    f"  {number:>2}  {report.community_code}  {report.name_zh}  {report.name_en}"
                )
            self.stdout.write(
                f"  {'community':<14}" + "".join(f" {n:>9}" for n in range(1, len(reports) + 1))
            )
        for field, label in SUMMARY:
            self.stdout.write(f"  {label:<14}" + "".join(f" {getattr(r, field):>9}" for r in reports))
        self.stdout.write("Demo accounts (all with the demo password):")
        for account in (account for report in reports for account in report.accounts):
            region = account.region_code or "—"
            self.stdout.write(f"  {account.username:<14} {account.role:<20} {region}")


def _option_error(exc: InvalidInput) -> CommandError:
    """The service's refusal, led by the option it names (``--communities: …``)."""
    option = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
    return CommandError(option + exc.message)
