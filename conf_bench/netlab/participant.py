"""A meeting participant: headless Chromium in its own namespace, driven by Playwright.

Playwright starts the browser through a two-line wrapper that runs
``/usr/bin/chromium`` under ``ip netns exec``; it talks to it over a pipe, so the
browser needs no route back to the harness. The page is our own room page
(``/r/<room>?name=…&autojoin=1``), the camera is Chromium's fake device at
640x360@15 (an init script narrows getUserMedia's constraints), and init scripts
record the peer connections and sample getStats once a second (stats.py).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright
from playwright.async_api import Error as PlaywrightError

from ..chromium import CHROMIUM, CHROMIUM_ARGS, RECORD_PEER_CONNECTIONS
from .stats import SAMPLER
from .topology import Topology

# The page asks for its own camera constraints; the harness narrows them so that
# three pages fit on two cores (TESTING.md: CPU starvation looks like loss).
CAMERA = """
((width, height, fps) => {
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => {
    if (constraints && constraints.video) {
      const asked = typeof constraints.video === "object" ? constraints.video : {};
      constraints = { ...constraints, video: { ...asked,
        width: { ideal: width, max: width }, height: { ideal: height, max: height },
        frameRate: { ideal: fps, max: fps } } };
    }
    return original(constraints);
  };
})(%d, %d, %d);
"""


async def wait_page_joined(page: Page, who: str, timeout: float) -> str:
    """Wait until the room page shows ``body[data-state=joined]``; returns the
    participant id. Fails with the page's state and the start of its text."""
    try:
        await page.wait_for_selector("body[data-state='joined']", timeout=timeout * 1000)
    except PlaywrightError as error:
        state = await page.evaluate(
            "() => [document.body.dataset.state, document.body.innerText.slice(0, 300)]"
        )
        raise RuntimeError(f"{who} did not join within {timeout} s: {state}") from error
    return str(await page.evaluate("window.meeting.participantId"))


class Participant:
    """One browser, one context and one meeting page in namespace ``role``."""

    def __init__(self, topology: Topology, role: str, workdir: Path) -> None:
        self.role = role
        self.namespace = topology.ns(role)
        self.wrapper = workdir / f"chromium-{role}.sh"
        self.wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.namespace} {CHROMIUM} "$@"\n')
        self.wrapper.chmod(self.wrapper.stat().st_mode | stat.S_IXUSR)
        self.console_path = workdir / f"page-{role}.log"
        self.browser: Browser | None = None
        self.page: Page | None = None
        self.participant_id: str | None = None

    async def open(
        self,
        playwright: Playwright,
        server_url: str,
        room: str,
        camera: tuple[int, int, int],
        clip: Path | None = None,
    ) -> None:
        """Start the browser and open the room page with autojoin; the fake
        camera plays ``clip`` (a Y4M file) if given, else Chromium's pattern."""
        # getUserMedia needs a secure context; the server is plain http on a
        # private address, so that origin is declared secure.
        args = [*CHROMIUM_ARGS, f"--unsafely-treat-insecure-origin-as-secure={server_url}"]
        if clip is not None:
            args.append(f"--use-file-for-fake-video-capture={clip}")
        self.browser = await playwright.chromium.launch(
            executable_path=str(self.wrapper), args=args
        )
        context = await self.browser.new_context(
            permissions=["camera", "microphone"], viewport={"width": 1280, "height": 720}
        )
        await context.add_init_script(RECORD_PEER_CONNECTIONS)
        await context.add_init_script(CAMERA % camera)
        await context.add_init_script(SAMPLER)
        self.page = await context.new_page()
        self.page.on("console", lambda m: self._log(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self._log(f"pageerror: {e}"))
        await self.page.goto(f"{server_url}/r/{room}?name={self.role}&autojoin=1")

    async def wait_joined(self, timeout: float = 30) -> str:
        """Wait for ``body[data-state=joined]``; returns the participant id."""
        self.participant_id = await wait_page_joined(self._page(), self.role, timeout)
        return self.participant_id

    async def evaluate(self, script: str, arg: Any = None) -> Any:
        """Run ``script`` in the page."""
        return await self._page().evaluate(script, arg)

    def _log(self, line: str) -> None:
        with self.console_path.open("a") as log:
            log.write(line + "\n")

    def _page(self) -> Page:
        if self.page is None:
            raise RuntimeError(f"participant {self.role} has no page yet")
        return self.page

    async def close(self) -> None:
        """Close the browser (its processes end with it); safe to call twice."""
        if self.browser is not None:
            browser, self.browser = self.browser, None
            await browser.close()
