"""Benchmarks: ``banyan bench seed --residents 10000`` times the seed on a fresh SQLite file."""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from banyan.bench import care as care_bench
from banyan.bench import cockpit as cockpit_bench
from banyan.bench import ingest as ingest_bench
from banyan.bench.rules import bench_engine
from banyan.core import clock


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


class Command(BaseCommand):
    help = "Measure Banyan's speed. `seed`: seed N residents into a fresh SQLite database and time it."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        seed = sub.add_parser("seed", help="time `banyan seed` on a fresh SQLite file")
        seed.add_argument("--residents", type=int, default=10000)
        seed.add_argument("--seed", type=int, default=1)
        seed.add_argument("--runs", type=int, default=1)
        rules = sub.add_parser("rules", help="evaluate readings through the rule engine alone (one core)")
        rules.add_argument("--readings", type=int, default=200_000)
        rules.add_argument("--devices", type=int, default=1000)
        ingest = sub.add_parser(
            "ingest", help="own Mosquitto + publisher process: broker baseline and ingest path"
        )
        ingest.add_argument("--readings", type=int, default=100_000)
        ingest.add_argument("--json", dest="json_file", default=None, help="write the result object here")
        ingest.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
        ingest.add_argument("--inner-port", type=int, default=None, help=argparse.SUPPRESS)
        cockpit = sub.add_parser(
            "cockpit", help="own server, broker, ingest, simulator and Chromium: alert to screen, load, tasks"
        )
        cockpit.add_argument("--trials", type=int, default=20)
        cockpit.add_argument("--residents", type=int, default=10000)
        cockpit.add_argument("--load-seconds", type=float, default=20.0)
        cockpit.add_argument("--events-per-second", type=float, default=50.0)
        cockpit.add_argument("--json", dest="json_file", default=None, help="write the result object here")

        care = sub.add_parser(
            "care", help="daily check-in SMS for N vulnerable residents queued, then all their replies"
        )
        care.add_argument("--residents", type=int, default=10000)
        care.add_argument("--json", dest="json_file", default=None, help="write the result object here")
        care.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
        care.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, verb, **options):
        if verb == "care":
            self.bench_care(**options)
            return
        if verb == "ingest":
            self.bench_ingest(**options)
            return
        if verb == "cockpit":
            self.bench_cockpit(**options)
            return
        if verb == "rules":
            result = bench_engine(n=options["readings"], devices=options["devices"])
            self.stdout.write(
                f"{result['readings']} readings, {result['rules']} rules, {result['devices']} devices: "
                f"{result['readings_per_s']:,.0f} readings/s ({result['events']} events)"
            )
            self.stdout.write(f"machine: {_machine()}")
            return
        self.bench_seed(**options)

    def bench_ingest(self, *, readings, json_file, database_url, inner_port, **options):
        bench = ingest_bench
        if inner_port:  # the measuring process, pointed at the prepared database
            bench.measure(port=inner_port, readings=readings, json_file=json_file, machine=_machine())
            return
        result = bench.prepare_and_run(readings=readings, json_file=json_file, database_url=database_url)
        self.stdout.write(
            f"raw broker {result['raw_readings_per_s']:,} readings/s; Banyan {result['readings_per_s']:,}/s, "
            f"batched {result['batched_readings_per_s']:,}/s; p50/p99 "
            f"{result['p50_ms_at_1000']}/{result['p99_ms_at_1000']} ms at 1,000/s, "
            f"{result['p50_ms_at_5000']}/{result['p99_ms_at_5000']} ms at 5,000/s; "
            f"lost {result['lost']}, duplicates {result['duplicates']} ({result['backend']})"
        )
        self.stdout.write(json.dumps(result))

    def bench_care(self, *, residents, json_file, database_url, inner, **options):
        if residents < 1:
            raise CommandError("--residents must be positive")
        if inner:  # the measuring process, pointed at the prepared database
            if not json_file:
                raise CommandError("--inner needs --json")
            care_bench.measure(residents=residents, json_file=json_file, machine=_machine())
            return
        result = care_bench.prepare_and_run(
            residents=residents, json_file=json_file, database_url=database_url
        )
        self.stdout.write(
            f"{result['requests_sent']:,} check-in SMS queued in {result['queue_s']} s "
            f"(goal {result['queue_goal_s']:g} s: {'met' if result['queue_goal_met'] else 'MISSED'}); "
            f"{result['replies']:,} replies processed in {result['reply_s']} s "
            f"(goal {result['reply_goal_s']:g} s: {'met' if result['reply_goal_met'] else 'MISSED'}), "
            f"{result['checkins_recorded']:,} check-ins, {result['need_help_incidents']} incidents "
            f"({result['backend']})"
        )
        self.stdout.write(f"machine: {result['machine']}")
        self.stdout.write(json.dumps(result))

    def bench_cockpit(self, *, trials, residents, load_seconds, events_per_second, json_file, **options):
        bench = cockpit_bench
        if trials < 1 or residents < 1 or load_seconds <= 0 or events_per_second <= 0:
            raise CommandError(
                "--trials, --residents, --load-seconds and --events-per-second must be positive"
            )
        try:
            result = bench.run(
                trials=trials,
                residents=residents,
                load_seconds=load_seconds,
                events_per_second=events_per_second,
                machine=_machine(),
                progress=self.stdout.write,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"alert visible p50/p99 {result['alert_visible_p50_ms']}/{result['alert_visible_p99_ms']} ms, "
            f"{result['trials']} trials; first load {result['first_load_ms']} ms "
            f"({result['residents']:,} residents, {result['devices']:,} devices); longest task under "
            f"{result['events_per_second_achieved']} events/s: {result['longest_task_ms_under_load']} ms"
        )
        text = json.dumps(result)
        if json_file:
            Path(json_file).write_text(text + "\n")
        self.stdout.write(text)

    def bench_seed(self, *, residents, seed, runs, **options):
        banyan = [sys.executable, "-m", "banyan"]
        timings = []
        for run in range(runs):
            with tempfile.TemporaryDirectory(prefix="banyan-bench-") as tmp:
                env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "BANYAN_VAR_DIR": tmp}
                subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True)
                started = clock.SystemClock().now()
                result = subprocess.run(
                    [
                        *banyan,
                        "seed",
                        "--residents",
                        str(residents),
                        "--seed",
                        str(seed),
                        "--demo-password",
                        "bench-password",
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                elapsed = (clock.SystemClock().now() - started).total_seconds()
                if result.returncode:
                    raise CommandError(f"seed failed:\n{result.stdout}\n{result.stderr}")
                timings.append(elapsed)
                self.stdout.write(f"run {run + 1}: seed of {residents} residents took {elapsed:.1f} s")
        self.stdout.write(f"machine: {_machine()}")
        self.stdout.write(f"best {min(timings):.1f} s, worst {max(timings):.1f} s over {runs} run(s)")
