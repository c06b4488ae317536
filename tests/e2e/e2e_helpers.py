"""End-to-end fixtures: the real ``conf-server`` process and real headless Chromium.

These tests must run inside the private network namespace that scripts/test.sh
creates (only ``lo`` and 10.199.0.1 exist there), so WebRTC traffic can never
reach a real network. Outside it they are skipped with that reason; inside it
(``CONF_TEST_NETNS=1``) a missing piece is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright

from conf_bench.chromium import CHROMIUM, RECORD_PEER_CONNECTIONS
from conf_bench.chromium import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

TEST_ADDRESS = "10.199.0.1"
#: Set on a test item by tests/e2e/conftest.py: did its call phase fail?
CALL_FAILED = pytest.StashKey[bool]()
#: Log lines too common to help explain a failure.
NOISE = ("aiohttp.access", "aioice.ice")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: --lang: pages follow the browser's language (issue 19); the suite asserts on English
#: text, so every context is en-US unless a test asks for another locale.
CHROMIUM_ARGS = [*BASE_CHROMIUM_ARGS, "--auto-accept-this-tab-capture", "--lang=en-US"]


def _in_test_namespace() -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((TEST_ADDRESS, 0))
    except OSError:
        return False
    interfaces = {name for _, name in socket.if_nameindex()}
    return interfaces <= {"lo", "t0"}


@pytest.fixture(scope="session")
def test_network() -> None:
    if _in_test_namespace():
        return
    if os.environ.get("CONF_TEST_NETNS") == "1":
        pytest.fail("inside scripts/test.sh but the private test address is missing")
    pytest.skip("end-to-end media tests run only inside scripts/test.sh's network namespace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m conf_server`` on a free port, ICE on the private test address.

    ``wait=False`` returns once the process is started; its ``url`` then waits
    until it listens, so a browser can start meanwhile (``open_page``)."""

    def __init__(self, tmp: Path, *extra: str, wait: bool = True) -> None:
        self.port = _free_port()
        self._url = f"http://127.0.0.1:{self.port}"
        self._listening = False
        self.log_path = tmp / "server.log"
        #: Its admin API key (environment only): failure diagnostics read the media report.
        self.admin_key = f"e2e-admin-{secrets.token_hex(16)}"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conf_server",
                "--port",
                str(self.port),
                "--data-dir",
                str(tmp / "data"),
                "--ice-address",
                TEST_ADDRESS,
                # No drain on SIGTERM (stop()): a test's meetings need not outlive
                # it; the default 30 s held every stop to the 10-s kill while a
                # page that just closed was still in its reconnect grace. A test
                # that wants a drain passes its own (the last flag wins).
                "--drain-seconds",
                "0",
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "CONF_ADMIN_API_KEY": self.admin_key,
                # E2E_LOG_LEVEL=debug: the server's debug log in a failed test's output.
                "CONF_LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "info"),
            },
        )
        self._deadline = time.monotonic() + 20
        if wait:
            self.wait_listening()

    @property
    def url(self) -> str:
        """Its base URL, once it listens."""
        self.wait_listening()
        return self._url

    def wait_listening(self) -> None:
        """Return once it accepts connections (at once after the first time);
        fail if it exits or does not listen within 20 s of its start."""
        while not self._listening:
            if self.proc.poll() is not None:
                raise RuntimeError(f"conf-server exited: {self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self._listening = True
            except OSError:
                if time.monotonic() > self._deadline:
                    raise RuntimeError("conf-server did not start listening within 20 s") from None
                time.sleep(0.1)

    def log_tail(self, lines: int = 60) -> str:
        """The end of its log without access and ICE chatter."""
        kept = [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if not any(noise in line for noise in NOISE)
        ]
        return "\n".join(kept[-lines:])

    async def media_report(self, room: str) -> str:
        """``GET /api/v1/admin/rooms/{room}/media`` as compact JSON, or why not."""
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"{self.url}/api/v1/admin/rooms/{room}/media",
                    headers={"Authorization": f"Bearer {self.admin_key}"},
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as response,
            ):
                return json.dumps(await response.json(), separators=(",", ":"))
        except Exception as exc:  # diagnostics must not hide the real failure
            return f"(no media report: {exc!r})"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def failed(request: pytest.FixtureRequest) -> bool:
    """Did the test using this fixture fail in its call phase?"""
    return request.node.stash.get(CALL_FAILED, False)


@pytest.fixture
def conf_server(test_network: None, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    # Not waited for here: the first use of its url waits (open_page starts
    # the browser meanwhile).
    server = ServerProcess(tmp_path, wait=False)
    yield server
    server.stop()
    if failed(request):
        print(f"---- end of the server log ----\n{server.log_tail()}")


@pytest.fixture
async def browser(test_network: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # launch() gives every context a fresh, empty profile of its own.
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


PageFactory = Callable[..., Awaitable[Page]]


async def new_meeting_page(browser: Browser, contexts: list[Any], name: str) -> Page:
    """A page in a fresh browser context with camera and microphone allowed,
    recording its peer connections and printing its console as ``[name]``."""
    context = await browser.new_context(
        permissions=["camera", "microphone"], viewport={"width": 1280, "height": 720}
    )
    contexts.append(context)
    await context.add_init_script(RECORD_PEER_CONNECTIONS)
    page = await context.new_page()
    page.on("console", lambda m: print(f"[{name}] {m.type}: {m.text}"))
    return page


@pytest.fixture
async def open_page(
    conf_server: ServerProcess, browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[PageFactory]:
    """Open ``/r/{room}?name=…&autojoin=1`` in a fresh browser context.

    The server is started before the browser (fixtures set up in this order),
    so both start at once."""
    contexts: list[Any] = []
    rooms: list[str] = []

    async def factory(room: str, name: str, autojoin: bool = True, **query: str) -> Page:
        rooms.append(room)
        page = await new_meeting_page(browser, contexts, name)
        params = {"name": name, **({"autojoin": "1"} if autojoin else {}), **query}
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        await page.goto(f"{conf_server.url}/r/{room}?{qs}")
        return page

    yield factory
    if failed(request):
        # What the SFU decided and what each page shows, while all are still there.
        for room in dict.fromkeys(rooms):
            print(f"---- media report of {room} ----\n{await conf_server.media_report(room)}")
        for context in contexts:
            for page in context.pages:
                print(f"---- page {page.url} ----\n{await page_diagnostics(page)}")
    for context in contexts:
        await context.close()


async def page_diagnostics(page: Page) -> str:
    """A page's state, the server's ``media_quality`` for it, and its tiles' frames."""
    try:
        state = await page.evaluate(
            """() => JSON.stringify({
              state: document.body.dataset.state,
              participant: window.meeting && window.meeting.participantId,
              quality: window.meeting && window.meeting.quality && window.meeting.quality.server,
            })"""
        )
        return f"{state} tile frames {await tile_frames(page)}"
    except Exception as exc:  # diagnostics must not hide the real failure
        return f"(no page state: {exc!r})"


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


def tid(name: str) -> str:
    """The CSS selector of a ``data-testid``."""
    return f'[data-testid="{name}"]'


async def join(open_page: PageFactory, room: str, name: str, **query: str) -> tuple[Page, str]:
    """Open ``room`` as ``name`` (extra URL ``query``), wait until joined;
    returns the page and its participant id."""
    page = await open_page(room, name, **query)
    await wait_joined(page)
    participant_id: str = await page.evaluate("window.meeting.participantId")
    return page, participant_id


async def wait_joined(page: Page, timeout: float = 15) -> None:
    await page.wait_for_selector("body[data-state='joined']", timeout=timeout * 1000)


async def tile_frames(page: Page) -> dict[str, int]:
    """Decoded frames of each remote camera tile's video, by participant id."""
    result: dict[str, int] = await page.evaluate(
        """() => {
          const me = window.meeting && window.meeting.participantId;
          const out = {};
          for (const tile of document.querySelectorAll('[data-testid="tile"]')) {
            const id = tile.dataset.participantId;
            if (id === me) continue;
            const video = tile.querySelector('video');
            out[id] = video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
          }
          return out;
        }"""
    )
    return result


async def inbound(page: Page, kind: str) -> list[dict[str, Any]]:
    """``inbound-rtp`` stats of one kind over every peer connection of the page."""
    stats: list[dict[str, Any]] = await page.evaluate(
        """async (kind) => {
          const out = [];
          for (const pc of window.__pcs || []) {
            if (pc.connectionState === 'closed') continue;
            const report = await pc.getStats();
            report.forEach(s => {
              if (s.type === 'inbound-rtp' && s.kind === kind)
                out.push({mid: s.mid, packets: s.packetsReceived || 0,
                          frames: s.framesDecoded || 0});
            });
          }
          return out;
        }""",
        kind,
    )
    return stats


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, step: float = 0.1
) -> float:
    """Poll ``check`` until true; returns the seconds it took. Fails on timeout."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        if await check():
            return loop.time() - started
        if loop.time() - started > timeout:
            name = getattr(check, "__name__", "condition")
            raise AssertionError(f"{name}: condition not met within {timeout} s")
        await asyncio.sleep(step)


async def receive_stats(page: Page) -> list[dict[str, Any]]:
    """What the page receives, per track: ``window.meeting.receiveStats()``
    (mid, kind, source, participantId, packets, bytes, audioLevel, energy,
    framesDecoded)."""
    stats: list[dict[str, Any]] = await page.evaluate("window.meeting.receiveStats()")
    return stats


async def received_from(page: Page, participant_id: str, kind: str) -> dict[str, float]:
    """Totals of one kind (``audio`` / ``video``) that ``page`` received from one
    participant: packets, bytes, energy, framesDecoded (all 0 if nothing is listed)."""
    totals = {"packets": 0.0, "bytes": 0.0, "energy": 0.0, "framesDecoded": 0.0}
    for entry in await receive_stats(page):
        if entry["participantId"] == participant_id and entry["kind"] == kind:
            for key in totals:
                totals[key] += float(entry.get(key) or 0)
    return totals


async def visible_tile_sizes(page: Page) -> dict[str, tuple[int, int]]:
    """Width x height of every participant tile on screen (this page of the gallery), by id."""
    sizes: dict[str, list[int]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="tile"]')]
              .filter(t => !t.hidden)
              .map(t => { const r = t.getBoundingClientRect();
                          return [t.dataset.participantId,
                                  [Math.round(r.width), Math.round(r.height)]]; }))"""
    )
    return {pid: (w, h) for pid, (w, h) in sizes.items()}
