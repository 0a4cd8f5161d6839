"""One real Helpline server (uvicorn in a thread, on a copy of the demo pack) and one Debian chromium
driven by Playwright, shared by the whole browser test session.

Skipped, with the reason, only when /usr/bin/chromium is missing and HELPLINE_REQUIRE_BROWSER is unset;
CI sets it, so there a missing browser fails instead of silently skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from helpline.api.app import create_app
from helpline.console.security import hash_password
from helpline.runtime import Runtime, build_runtime
from helpline.store.repositories import ConsoleUserRepository, WidgetKeyRepository
from tests.conftest import DEMO, DemoModels

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_missing_reason() -> str | None:
    if CHROMIUM.exists():
        return None
    if os.environ.get("HELPLINE_REQUIRE_BROWSER"):
        pytest.fail("HELPLINE_REQUIRE_BROWSER is set but /usr/bin/chromium is missing (apt-get install chromium)")
    return "no /usr/bin/chromium (Debian package chromium); set HELPLINE_REQUIRE_BROWSER=1 to make this fail"


@dataclass
class Server:
    url: str
    runtime: Runtime
    widget_key: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is open,
# which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def server(demo_models: DemoModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _browser_missing_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copytree(DEMO, tmp / "pack", ignore=shutil.ignore_patterns("*.db"))
    runtime = build_runtime(tmp / "pack", db_url=f"sqlite:///{tmp / 'helpline.db'}",
                            records_url=f"sqlite:///{tmp / 'records.db'}", models=demo_models.models)
    with runtime.db.session() as session:
        ConsoleUserRepository(session).create(email="sam@example.com", role="supervisor", name="Sam",
                                              password_hash=hash_password(PASSWORD))
        key = WidgetKeyRepository(session).create(label="demo page").public_key
    port = _free_port()
    config = uvicorn.Config(create_app(runtime, sweep_every_seconds=None), host="127.0.0.1", port=port,
                            log_level="warning", ws="websockets-sansio")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="browser-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", runtime, key)
    uv.should_exit = True
    thread.join(timeout=15)
    runtime.db.dispose()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = ARTIFACTS.parent / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, timeout=30_000)
        try:
            yield context
        finally:
            context.close()  # Playwright stops the chromium process it started
    shutil.rmtree(profile, ignore_errors=True)
