"""Banyan does not serve real people with a development checkout's defaults (issue 10, finding 8).

``banyan serve`` and the ASGI/WSGI entry points refuse to start, naming what to set, when

* ``BANYAN_SECRET_KEY`` is unset (``settings.py`` then falls back to a key printed in the source) or
  shorter than 50 characters; or
* the vault's keys come from the key file a development checkout creates by itself
  (``var/banyan.keys`` under ``BANYAN_VAR_DIR``, written on first use): production sets
  ``BANYAN_DATA_KEY``, ``BANYAN_INDEX_KEY`` and ``BANYAN_AUDIT_KEY``, or points ``BANYAN_KEY_FILE``
  at a file it made with ``banyan vault newkey``, readable by its owner only;

unless ``BANYAN_DEMO=1``: set by ``banyan demo`` (its synthetic community), by the test suite and
by the benchmarks, for themselves and the processes they start. docs/production.md lists the
environment of a real installation.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEMO_VARIABLE = "BANYAN_DEMO"
MIN_SECRET_KEY_LENGTH = 50
KEY_VARIABLES = ("BANYAN_DATA_KEY", "BANYAN_INDEX_KEY", "BANYAN_AUDIT_KEY")  # banyan/core/vault.py
MAKE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def demo_mode() -> bool:
    """The demo, the tests or a benchmark: synthetic data, development defaults allowed."""
    return os.environ.get(DEMO_VARIABLE) == "1"


def development_defaults() -> list[str]:
    """What a real installation must set before Banyan serves it, one sentence each (empty: nothing)."""
    problems = []
    secret = os.environ.get("BANYAN_SECRET_KEY", "")
    if not secret:
        problems.append(
            "BANYAN_SECRET_KEY is not set, so the development key written in banyan/settings.py would sign "
            f"sessions and CSRF tokens. Make one with: {MAKE_SECRET_KEY}"
        )
    elif len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"BANYAN_SECRET_KEY has {len(secret)} characters; use at least {MIN_SECRET_KEY_LENGTH} "
            f"random ones: {MAKE_SECRET_KEY}"
        )
    if not all(os.environ.get(name, "").strip() for name in KEY_VARIABLES):
        key_file = os.environ.get("BANYAN_KEY_FILE", "")
        if not key_file:
            problems.append(
                "the personal-data and audit keys would come from the key file a development checkout "
                f"creates by itself ({Path(settings.VAR_DIR) / 'banyan.keys'}). Run `banyan vault newkey` "
                "and set BANYAN_DATA_KEY, BANYAN_INDEX_KEY and BANYAN_AUDIT_KEY from its output, or put "
                "its lines in a file (chmod 600) named by BANYAN_KEY_FILE"
            )
        elif not Path(key_file).is_file():
            problems.append(
                f"BANYAN_KEY_FILE names {key_file}, which does not exist; write it from `banyan vault newkey`"
            )
        elif stat.S_IMODE(Path(key_file).stat().st_mode) & 0o077:
            problems.append(
                f"the key file {key_file} may be read by others than its owner: chmod 600 {key_file}"
            )
    return problems


def refuse_development_defaults() -> None:
    """Raise ``ImproperlyConfigured`` naming every missing setting, outside the demo and the tests."""
    if demo_mode():
        return
    problems = development_defaults()
    if problems:
        raise ImproperlyConfigured(
            "Banyan will not serve with a development checkout's defaults (set BANYAN_DEMO=1 only for the "
            "demo and tests; docs/production.md lists a real installation's environment):\n"
            + "\n".join(f"- {problem}" for problem in problems)
        )
