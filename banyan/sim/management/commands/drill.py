"""Drills on simulated time, each on a freshly seeded community:

* ``banyan drill response --seed S [--json FILE]``: a simulated day of incidents (``sim/drill.py``);
* ``banyan drill care --seed S [--days D] [--residents N] --json FILE``: days of everyday care — daily
  check-ins, retries, wellness visits, consent at ingest (``sim/care_drill.py``);
* ``banyan drill HAZARD --seed S [--residents N] --json FILE`` (typhoon, flood, fire, heatwave,
  epidemic): one emergency from the government's CAP warning to the stand-down
  (``sim/emergency_drill.py``).

The outer command seeds a fresh SQLite database in a temporary folder and runs the drill in a
``banyan`` process pointed at it, so the drill never touches the real database. The migrated and seeded
database (with its vault key and audit anchor) is kept in ``BANYAN_VAR_DIR/drill-cache/`` under a key of
the residents, the seed, today's date and the code (every ``banyan`` source file but the tests), and
copied for the next drill of that community: a drill run again, or a second hazard, skips ``migrate``
and ``seed`` (``--no-cache`` makes it anew; the four most recent are kept).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

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
        response.add_argument("--no-cache", action="store_true", help="migrate and seed anew")
        response.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        care = sub.add_parser("care", help="days of daily check-ins, retries and wellness visits")
        care.add_argument("--seed", type=int, default=7)
        care.add_argument("--days", type=int, default=care_drill.DEFAULT_DAYS)
        care.add_argument("--residents", type=int, default=3000)
        care.add_argument("--json", dest="json_file", default=None, help="write the figures here")
        care.add_argument("--no-cache", action="store_true", help="migrate and seed anew")
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
            emergency.add_argument("--no-cache", action="store_true", help="migrate and seed anew")
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
            seeded = _cached_community(residents, seed) if not options["no_cache"] else None
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/drill.sqlite3",
                "BANYAN_VAR_DIR": tmp,
                "BANYAN_AUDIT_ANCHOR": f"{tmp}/audit.anchor",
                "BANYAN_LOG_LEVEL": "WARNING",
                "BANYAN_AUDIT_FSYNC": "0",  # a throwaway database: no crash to survive
            }
            banyan = [sys.executable, "-m", "banyan"]
            out = Path(tmp) / "drill.json"
            setup = [
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
            ]
            if seeded is not None and seeded.is_dir():
                for name in CACHED_FILES:
                    shutil.copy2(seeded / name, Path(tmp) / name)
                setup = []
            for step in setup:
                _step(banyan, step, env)
            if seeded is not None and setup:
                _keep(Path(tmp), seeded)
            _step(banyan, ["drill", drill, *inner_args, "--json", str(out)], env)
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


# --- the seeded community, kept for the next drill ---------------------------------------------------

CACHED_FILES = ("drill.sqlite3", "banyan.keys", "audit.anchor")
CACHE_KEEP = 4


def _step(banyan: list[str], step: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([*banyan, *step], env=env, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        raise CommandError(f"the drill's step {step[0]} failed (exit {done.returncode})")


def _code_digest() -> str:
    """A digest of every ``banyan`` source file but the tests: a change of code seeds anew."""
    root = Path(__file__).resolve().parents[3]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "tests" in path.parts or "tests_browser" in path.parts:
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cached_community(residents: int, seed: int) -> Path:
    """Where the seeded database of ``residents`` and ``seed`` is kept today for this code."""
    today = timezone.localdate(clock.now()).isoformat()  # the seed's dates (shifts, ages) are today's
    key = hashlib.sha256(f"{residents}:{seed}:{today}:{_code_digest()}".encode()).hexdigest()[:20]
    return Path(settings.VAR_DIR) / "drill-cache" / key


def _keep(made: Path, where: Path) -> None:
    """Keep the database just seeded in ``made`` at ``where`` (written aside, then renamed); only the
    most recent ``CACHE_KEEP`` are kept."""
    where.parent.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=".new-", dir=where.parent))
    try:
        for name in CACHED_FILES:
            shutil.copy2(made / name, aside / name)
        aside.rename(where)
    except OSError:  # another drill kept the same one first, or the disk is full: not needed
        shutil.rmtree(aside, ignore_errors=True)
        return
    kept = sorted(
        (p for p in where.parent.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in kept[:-CACHE_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
