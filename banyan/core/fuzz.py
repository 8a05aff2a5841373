"""`make fuzz`: a bounded, deterministic schemathesis run over every operation of the API, as several
roles, against a real ``banyan serve`` on a freshly seeded database.

    python -m banyan.core.fuzz --database sqlite     # or postgres (PG_URL names the server)

Each run gets its own ``BANYAN_VAR_DIR`` (a temporary folder) and, on PostgreSQL, its own database
(``banyan_fuzz``, dropped afterwards), so it never touches the database of the tests or the demo. It
migrates, seeds one synthetic community, creates a bearer token per role with ``banyan token create``,
starts ``banyan serve`` on a free loopback port, and runs ``st run`` once per role with the checks
``not_a_server_error`` (no 5xx) and ``status_code_conformance`` (every answered status is declared in
the OpenAPI document), a fixed seed, ``--generation-deterministic`` and a bounded number of examples
per operation. It prints per role the operations, the test cases and the failures, and exits 1 on
any failure. Rate limits and lockouts may answer 429 during the run: 429 is declared everywhere.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("admin", "director", "grid01", "property01", "resident01", "auditor")
# The coverage phase sends every parameter's edge and wrong values (what a validation gap answers with
# a 500 or an undeclared status: ~45 cases per operation); it depends little on the role and takes most
# of the time, so the role that reaches furthest into every service runs it and the others fuzz only.
COVERAGE_ROLES = ("admin",)
CHECKS = "not_a_server_error,status_code_conformance"
PASSWORD = "fuzz-pass-2026"
PG_DATABASE = "banyan_fuzz"
# Operations that would end the run's own authentication (a token revoking itself, or all of its
# owner's) are left out: the rest of the role's run would only see 401s. Everything else is fuzzed.
EXCLUDE_PATH_REGEX = r"^/api/v1/tokens/\{[a-z_]+\}/revoke$|^/api/v1/tokens/revoke"


@dataclass
class RoleResult:
    role: str
    operations: int = 0
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    exit_code: int = 0
    seconds: float = 0.0


def _bin(name: str) -> str:
    """A console script of this virtualenv (banyan, st)."""
    return str(Path(sys.executable).parent / name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _banyan(env: dict, *args: str, timeout: float = 900) -> str:
    result = subprocess.run([_bin("banyan"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"banyan {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"banyan serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"banyan serve did not answer {url} within {seconds:g} s")


def _postgres(base_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(base_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(statement)


def _count_cases(log: Path) -> tuple[int, int]:
    """(operations tested, test cases) from the summary that ``st run`` prints."""
    text = log.read_text() if log.exists() else ""
    tested = re.search(r"Tested:\s+(\d+)", text)
    cases = re.search(r"(\d+) generated", text)
    return int(tested.group(1)) if tested else 0, int(cases.group(1)) if cases else 0


def _failures(junit: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    if not junit.exists():
        return ["no report was written"]
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            first = (problem.get("message") or problem.text or "").strip().splitlines()
            found.append(f"{case.get('name')}: {first[0] if first else problem.tag}")
    return found


def fuzz_role(role: str, token: str, schema: Path, base: str, out: Path, args) -> RoleResult:
    result = RoleResult(role)
    junit = out / f"{role}.xml"
    command = [
        _bin("st"),
        "run",
        str(schema),
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        "Accept-Language: en",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing" if role in args.coverage_roles else "examples,fuzzing",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--generation-deterministic",
        "--workers",
        str(args.workers),
        "--request-timeout",
        "30",
        "--exclude-path-regex",
        EXCLUDE_PATH_REGEX,
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
        "--warnings",
        "off",
    ]
    started = time.monotonic()
    log = out / f"{role}.log"
    with log.open("w") as handle:
        completed = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, timeout=1800)
    result.seconds = time.monotonic() - started
    result.exit_code = completed.returncode
    result.operations, result.cases = _count_cases(log)
    result.failures = _failures(junit)
    if completed.returncode != 0 and not result.failures:
        result.failures = [f"st exited {completed.returncode}; see {log}"]
    return result


def run(args) -> int:
    started = time.monotonic()
    var_dir = Path(tempfile.mkdtemp(prefix=f"banyan-fuzz-{args.database}-"))
    env = {
        key: value for key, value in os.environ.items() if key not in ("BANYAN_AUDIT_ANCHOR", "DATABASE_URL")
    }
    # BANYAN_DEMO=1: a synthetic community, served with development keys (banyan/core/deploy.py).
    env.update(BANYAN_VAR_DIR=str(var_dir), BANYAN_LOG_LEVEL="WARNING", BANYAN_BUS="local", BANYAN_DEMO="1")
    database_url = None
    if args.database == "postgres":
        database_url = args.pg_url.rsplit("/", 1)[0] + "/" + PG_DATABASE
        _postgres(database_url, f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        _postgres(database_url, f"CREATE DATABASE {PG_DATABASE}")
        env["DATABASE_URL"] = database_url
    server = None
    results: list[RoleResult] = []
    try:
        _banyan(env, "migrate", "--noinput")
        _banyan(env, "seed", "--residents", str(args.residents), "--seed", "7", "--demo-password", PASSWORD)
        tokens = {role: _banyan(env, "token", "create", role).strip().splitlines()[-1] for role in args.roles}
        prepared = time.monotonic() - started
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server_log = (var_dir / "serve.log").open("w")
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "banyan"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(f"{base}/healthz", server)
        request = urllib.request.Request(
            f"{base}/api/v1/openapi.json", headers={"Authorization": f"Bearer {tokens[args.roles[0]]}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            schema = var_dir / "openapi.json"
            schema.write_bytes(answer.read())
        print(f"fuzz on {args.database}: seeded in {prepared:.0f} s; serving {base}", flush=True)
        for role in args.roles:
            result = fuzz_role(role, tokens[role], schema, base, var_dir, args)
            results.append(result)
            print(
                f"  {role:<11} {result.operations:3d} operations {result.cases:6d} test cases "
                f"{len(result.failures):3d} failures  ({result.seconds:.0f} s)",
                flush=True,
            )
            for failure in result.failures:
                print(f"    - {failure}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if database_url:
            _postgres(database_url, f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    failures = sum(len(r.failures) for r in results)
    total = time.monotonic() - started
    print(
        f"fuzz on {args.database}: {len(results)} roles, {sum(r.cases for r in results)} test cases, "
        f"{failures} failures in {total:.0f} s",
        flush=True,
    )
    if failures:
        print(f"  reports and the server's log: {var_dir}", flush=True)
        return 1
    if not args.keep:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m banyan.core.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--roles", nargs="+", default=list(ROLES))
    parser.add_argument("--max-examples", type=int, default=5, help="fuzzing's test cases per operation")
    parser.add_argument(
        "--coverage-roles",
        nargs="*",
        default=list(COVERAGE_ROLES),
        help="roles that also run the coverage phase (every parameter's edge and wrong values)",
    )
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workers", type=int, default=1, help="1 keeps the order, so the run, the same")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (reports, server log)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
