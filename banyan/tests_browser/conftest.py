"""Browser tests need Debian's Chromium (``apt-get install chromium``) and Playwright for Python.

Where either is missing the ``browser`` tests are deselected, with a line saying why, rather
than skipped: CI installs Chromium, so a skip there would hide a broken setup only locally.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def missing_requirement() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = missing_requirement()
    if reason is None:
        return
    deselected = [item for item in items if item.get_closest_marker("browser")]
    if not deselected:
        return
    items[:] = [item for item in items if not item.get_closest_marker("browser")]
    config.hook.pytest_deselected(items=deselected)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = f"banyan/tests_browser: deselected {len(deselected)} browser test(s): {reason}"
    if reporter is not None:
        reporter.write_line(message)
    else:
        print(message)
