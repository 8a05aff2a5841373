"""``banyan drill response --seed S [--json FILE]``: a simulated day of incidents (see ``sim/drill.py``).

The outer command seeds a fresh SQLite database in a temporary folder and runs the day in a
``banyan`` process pointed at it, so the drill never touches the real database.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banyan.core import clock
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

    def handle(self, *args, drill, seed, residents, json_file, inner, **options):
        if inner:
            start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
            result = run(seed=seed, start=start)
            Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
            return
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
                ["drill", "response", "--inner", "--seed", str(seed), "--json", str(out)],
            ):
                done = subprocess.run([*banyan, *step], env=env, stdout=subprocess.DEVNULL)
                if done.returncode != 0:
                    raise CommandError(f"the drill's step {step[0]} failed (exit {done.returncode})")
            result = json.loads(out.read_text())
        if json_file:
            Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
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


def _s(value) -> str:
    return "-" if value is None else f"{value:.0f} s"
