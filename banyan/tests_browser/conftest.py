"""Browser tests need Debian's Chromium (``apt-get install chromium``) and Playwright for Python.

Where either is missing the ``browser`` tests are deselected, with a line saying why, rather
than skipped: CI installs Chromium, so a skip there would hide a broken setup only locally.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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


@pytest.fixture
def asgi_server(transactional_db):
    """Banyan's ASGI application served by uvicorn in a thread of this process, for pages that
    stream (Server-Sent Events), which Django's ``live_server`` (WSGI) cannot. Like ``live_server``
    it uses the test database (a transactional one: what the test commits, the server sees)."""
    import threading
    import time
    import warnings

    import uvicorn

    from banyan.asgi import application
    from banyan.sensing.ingest.broker import free_port

    # WhiteNoise answers static files with a synchronous FileResponse, which Django's ASGI handler
    # serves with this warning (the suite turns warnings into errors). Ignored for this test only.
    warnings.filterwarnings(
        "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
    )
    port = free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asgi-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
