"""Drills on simulated time, each on a freshly seeded community:

* ``banyan drill response --seed S [--json FILE]``: a simulated day of incidents (``sim/drill.py``);
* ``banyan drill care --seed S [--days D] [--residents N] --json FILE``: days of everyday care — daily
  check-ins, retries, wellness visits, consent at ingest (``sim/care_drill.py``);
* ``banyan drill HAZARD --seed S [--residents N] --json FILE`` (typhoon, flood, fire, heatwave,
  epidemic): one emergency from the government's CAP warning to the stand-down
  (``sim/emergency_drill.py``).

The outer command seeds a fresh SQLite database in a temporary folder and runs the drill in a
``banyan`` process pointed at it, so the drill never touches the real database.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from banyan.core import clock
from banyan.sim import care_drill, emergency_drill
from banyan.sim.drill import run


class Command(BaseCommand):
    help = "Drills on simulated time: `banyan drill response --seed S --json FILE`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="drill", required=True)
        response = sub.add_parser("response", help="a day of incidents, responders walking the graph")
        response.add_argument("--seed", type=int, default=7)
        response.add_argument("--residents", type=int, default=3000)
        response.add_argument("--json", dest="json_file", default=None, help="write the figures here")
        response.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        care = sub.add_parser("care", help="days of daily check-ins, retries and wellness visits")
        care.add_argument("--seed", type=int, default=7)
        care.add_argument("--days", type=int, default=care_drill.DEFAULT_DAYS)
        care.add_argument("--residents", type=int, default=3000)
        care.add_argument("--json", dest="json_file", default=None, help="write the figures here")
        care.add_argument(
            "--retry-minutes",
            type=int,
            default=None,
            help='minutes between a missed check-in\'s retries (BANYAN_CARE["RETRY_MINUTES"]); '
            "default: the product's",
        )
        care.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        for hazard in emergency_drill.HAZARDS:
            emergency = sub.add_parser(hazard, help=f"a {hazard} emergency: warning, roll call, shelters")
            emergency.add_argument("--seed", type=int, default=7)
            emergency.add_argument("--residents", type=int, default=3000)
            emergency.add_argument("--json", dest="json_file", default=None, help="write the figures here")
            emergency.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, drill, seed, residents, json_file, inner, **options):
        if drill == "care":
            if options["days"] < 1:
                raise CommandError("--days is at least 1")
            if options["retry_minutes"] is not None and options["retry_minutes"] < 1:
                raise CommandError("--retry-minutes is at least 1")
        if inner:
            if drill in emergency_drill.HAZARDS:
                result = emergency_drill.run(hazard=drill, seed=seed, start=emergency_drill.first_morning())
                Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
                return
            if drill == "care":
                self._care_inner(
                    seed=seed, days=options["days"], retry=options["retry_minutes"], out=json_file
                )
                return
            start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
            result = run(seed=seed, start=start)
            Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
            return
        inner_args = ["--inner", "--seed", str(seed)]
        if drill == "care":
            inner_args += ["--days", str(options["days"])]
            if options["retry_minutes"] is not None:
                inner_args += ["--retry-minutes", str(options["retry_minutes"])]
        with tempfile.TemporaryDirectory(prefix="banyan-drill-") as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/drill.sqlite3",
                "BANYAN_VAR_DIR": tmp,
                "BANYAN_AUDIT_ANCHOR": f"{tmp}/audit.anchor",
                "BANYAN_LOG_LEVEL": "WARNING",
            }
            banyan = [sys.executable, "-m", "banyan"]
            out = Path(tmp) / "drill.json"
            for step in (
                ["migrate", "-v0"],
                [
                    "seed",
                    "--residents",
                    str(residents),
                    "--seed",
                    str(seed),
                    "--demo-password",
                    "drill-pass-2026",
                ],
                ["drill", drill, *inner_args, "--json", str(out)],
            ):
                done = subprocess.run([*banyan, *step], env=env, stdout=subprocess.DEVNULL)
                if done.returncode != 0:
                    raise CommandError(f"the drill's step {step[0]} failed (exit {done.returncode})")
            result = json.loads(out.read_text())
        if json_file:
            Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
        if drill in emergency_drill.HAZARDS:
            for line in emergency_drill.summary(result):
                self.stdout.write(line)
            return
        if drill == "care":
            for line in care_drill.summary(result):
                self.stdout.write(line)
            return
        self.stdout.write(
            f"{result['incidents']} incidents, {result['arrived']} reached, {result['closed']} closed, "
            f"{result['escalations']} escalations, unowned {result['unowned_incidents']}"
        )
        self.stdout.write("grade    n  ack p50  ack p90  arrive p50  arrive p90  ≤10 min")
        for grade, row in result["by_grade"].items():
            share = row["arrived_within_10min_share"]
            self.stdout.write(
                f"{grade:<7}{row['incidents']:>3}  {_s(row['ack_p50_s']):>7}  {_s(row['ack_p90_s']):>7}  "
                f"{_s(row['arrive_p50_s']):>10}  {_s(row['arrive_p90_s']):>10}  "
                f"{'-' if share is None else f'{share:.0%}':>7}"
            )

    def _care_inner(self, *, seed: int, days: int, retry: int | None, out: str) -> None:
        if retry is not None:  # this process is the drill's own: the setting changes for it alone
            settings.BANYAN_CARE = {**(getattr(settings, "BANYAN_CARE", None) or {}), "RETRY_MINUTES": retry}
        result = care_drill.run(seed=seed, start=care_drill.first_midnight(), days=days)
        Path(out).write_text(json.dumps(result, indent=2) + "\n")


def _s(value) -> str:
    return "-" if value is None else f"{value:.0f} s"
