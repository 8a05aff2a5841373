"""``banyan seed``: create the synthetic demo community in an empty database."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from banyan.core.errors import InvalidInput
from banyan.sim.services import database_is_empty, seed_community

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
)


class Command(BaseCommand):
    help = "Seed a deterministic synthetic community (regions, buildings, residents, care, accounts)."

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=3000, help="number of residents (default 3000)")
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
            report = seed_community(
                residents=options["residents"],
                seed=options["seed"],
                demo_password=options["demo_password"],
                progress=self.stdout.write,
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Seeded community {report.community_code} in {elapsed:.1f} s:"))
        for field, label in SUMMARY:
            self.stdout.write(f"  {label:<14} {getattr(report, field):>7}")
        self.stdout.write("Demo accounts (all with the demo password):")
        for account in report.accounts:
            region = account.region_code or "—"
            self.stdout.write(f"  {account.username:<12} {account.role:<20} {region}")
