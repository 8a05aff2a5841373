"""Browser tests need Debian's Chromium (``apt-get install chromium``) and Playwright for Python.

Where either is missing the ``browser`` tests are deselected, with a line saying why, rather
than skipped: CI installs Chromium, so a skip there would hide a broken setup only locally.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from banyan.tests_browser.support import CHROMIUM_ARGS, ensure_seeded

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


class AsgiServer:
    """Banyan's ASGI application served by uvicorn in a thread of this process; ``stop`` and ``start``
    again on the same port (a server restart, as a browser sees it)."""

    def __init__(self) -> None:
        from banyan.processes.broker import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.thread = None

    def start(self) -> AsgiServer:
        import threading
        import time

        import uvicorn

        from banyan.asgi import application

        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-test-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = None


@pytest.fixture
def asgi_server(transactional_db):
    """Banyan served as in production (uvicorn, ASGI), for pages that stream (Server-Sent Events),
    which Django's ``live_server`` (WSGI) cannot. It uses the test database (a transactional one:
    what the test commits, the server sees)."""
    import warnings

    # WhiteNoise answers static files with a synchronous FileResponse, which Django's ASGI handler
    # serves with this warning (the suite turns warnings into errors). Ignored for these tests only.
    warnings.filterwarnings(
        "ignore", message="StreamingHttpResponse must consume synchronous iterators", category=Warning
    )
    server = AsgiServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    """Playwright's sync API runs an asyncio event loop in this thread, which Django takes for an
    async context; the ORM calls of these tests (seeding, reading an expected value) are plain
    synchronous calls all the same. Set for the browser tests' modules only, so other tests keep the
    check."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def community(asgi_server):
    """The demo community, served as in production: uvicorn (ASGI), so that live streams work."""
    ensure_seeded()
    return asgi_server.url
