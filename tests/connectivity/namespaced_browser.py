"""A meeting participant for connectivity tests: headless Chromium in a namespace.

Playwright starts Chromium through a two-line wrapper that runs it under
``ip netns exec`` and drives it over a pipe, so the browser needs no route back
to the test. The page is our room page (``/r/<room>?name=…&autojoin=1``) with a
640x360@15 fake camera (three pages must fit on two cores) and its peer
connections recorded, so getStats() tells which candidate pair carries media.
"""

from __future__ import annotations

import asyncio
import contextlib
import stat
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright
from playwright.async_api import Error as PlaywrightError

from conf_bench.chromium import CHROMIUM, CHROMIUM_ARGS, RECORD_PEER_CONNECTIONS
from conf_bench.netlab.participant import CAMERA, wait_page_joined

CAMERA_SIZE = (640, 360, 15)

# Per open peer connection: its state, how many RTP streams it has, the remote
# (server) candidates it knows, and the selected candidate pair with both
# candidates (local: ours; remote: the server's, as this page sees them).
SELECTED_PAIRS = """async () => {
  const out = [];
  const candidate = (c) => c ? { type: c.candidateType, address: c.address ?? c.ip ?? null,
      port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol ?? null,
      url: c.url ?? null } : null;
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    let pair = null, rtp = 0;
    const remotes = [];
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId)
        pair = report.get(s.selectedCandidatePairId) ?? null;
      if (s.type === "inbound-rtp" || s.type === "outbound-rtp") rtp += 1;
      if (s.type === "remote-candidate") remotes.push(candidate(s));
    });
    out.push({ state: pc.connectionState, ice: pc.iceConnectionState, rtp, remotes,
      pair: pair ? { state: pair.state, bytesSent: pair.bytesSent ?? 0,
                     bytesReceived: pair.bytesReceived ?? 0,
                     local: candidate(report.get(pair.localCandidateId)),
                     remote: candidate(report.get(pair.remoteCandidateId)) } : null });
  }
  return out;
}"""


#: The ``open_browser`` fixture: ``(namespace, name, server_url, room, extra_args=())``.
OpenBrowser = Callable[..., Awaitable["NamespacedBrowser"]]


class NamespacedBrowser:
    """One browser and one meeting page, running in namespace ``namespace``."""

    def __init__(self, namespace: str, name: str, workdir: Path) -> None:
        self.name = name
        self.wrapper = workdir / f"chromium-{name}.sh"
        self.wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        self.wrapper.chmod(self.wrapper.stat().st_mode | stat.S_IXUSR)
        self.console_path = workdir / f"page-{name}.log"
        self.browser: Browser | None = None
        self.page: Page | None = None
        self.participant_id = ""
        self.opened_at = 0.0
        #: Seconds from opening the page to ``joined`` (a figure to report).
        self.joined_after = 0.0

    async def open(
        self, playwright: Playwright, server_url: str, room: str, extra_args: Sequence[str] = ()
    ) -> None:
        """Start the browser and open ``room`` with autojoin."""
        # getUserMedia needs a secure context; the server is plain http on a
        # private address, so that origin is declared secure.
        args = [*CHROMIUM_ARGS, f"--unsafely-treat-insecure-origin-as-secure={server_url}",
                *extra_args]  # fmt: skip
        self.browser = await playwright.chromium.launch(
            executable_path=str(self.wrapper), args=args
        )
        context = await self.browser.new_context(
            permissions=["camera", "microphone"], viewport={"width": 960, "height": 540}
        )
        await context.add_init_script(RECORD_PEER_CONNECTIONS)
        await context.add_init_script(CAMERA % CAMERA_SIZE)
        self.page = await context.new_page()
        self.page.on("console", lambda m: self._log(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self._log(f"pageerror: {e}"))
        self.opened_at = time.monotonic()
        await self.page.goto(f"{server_url}/r/{room}?name={self.name}&autojoin=1")

    async def wait_joined(self, timeout: float = 60) -> str:
        """Wait for ``body[data-state=joined]``; returns the participant id."""
        try:
            self.participant_id = await wait_page_joined(self._page(), self.name, timeout)
        except RuntimeError as error:
            raise AssertionError(str(error)) from error
        self.joined_after = time.monotonic() - self.opened_at
        return self.participant_id

    async def selected_pairs(self) -> list[dict[str, Any]]:
        """State and selected candidate pair of each open peer connection."""
        pairs: list[dict[str, Any]] = await self._page().evaluate(SELECTED_PAIRS)
        return pairs

    async def received_from(self, publisher_id: str) -> dict[str, float]:
        """Video frames decoded and audio packets received from one participant."""
        totals = {"frames": 0.0, "audio_packets": 0.0}
        for track in await self._page().evaluate("window.meeting.receiveStats()"):
            if track["participantId"] != publisher_id:
                continue
            if track["kind"] == "video":
                totals["frames"] += float(track.get("framesDecoded") or 0)
            else:
                totals["audio_packets"] += float(track.get("packets") or 0)
        return totals

    async def wait_media_from(self, publisher_id: str, timeout: float = 60) -> float:
        """Wait until video frames and audio packets from ``publisher_id`` arrive
        and keep arriving; the seconds since the page was opened."""
        deadline = time.monotonic() + timeout
        first: dict[str, float] | None = None
        last: dict[str, float] = {}
        while time.monotonic() < deadline:
            last = await self.received_from(publisher_id)
            if first is None and last["frames"] > 0 and last["audio_packets"] > 0:
                first = last
                arrived = time.monotonic() - self.opened_at
            elif first is not None and all(last[k] > first[k] for k in first):
                return arrived
            await asyncio.sleep(0.5)
        raise AssertionError(
            f"{self.name} got no live audio and video from {publisher_id} within "
            f"{timeout} s (first {first}, last {last}); pairs: {await self.selected_pairs()}"
        )

    def _log(self, line: str) -> None:
        with self.console_path.open("a") as log:
            log.write(line + "\n")

    def _page(self) -> Page:
        if self.page is None:
            raise RuntimeError(f"{self.name} has no page yet")
        return self.page

    async def close(self) -> None:
        """Close the browser (its processes end with it); safe to call twice."""
        if self.browser is not None:
            browser, self.browser = self.browser, None
            # If closing hangs, the namespace's processes die when it is deleted.
            with contextlib.suppress(TimeoutError, PlaywrightError):
                await asyncio.wait_for(browser.close(), 20)
