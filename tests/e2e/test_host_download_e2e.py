"""A host downloads the meeting's recordings from the meeting menu, in real
Chromium: "Show recordings" sends ``recording_links`` and lists one signed
link per file (the composite video first once it is there), and following a
link gives the file on the server's disk. Where the deployment does not set
``recording_host_download`` the section shows the server's refusal; co-hosts
do not get the section at all.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ServerProcess, screenshot, tid, wait_joined
from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up

# Follows a link the way the browser would (same origin, no API key): status,
# Content-Length and a SHA-256 of the body, so no megabytes cross into Python.
FOLLOW = """async (link) => {
  const response = await fetch(link.href);
  const body = await response.arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", body);
  return {status: response.status, length: response.headers.get("content-length"),
          size: body.byteLength,
          sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, "0")).join("")};
}"""


async def open_menu(page: Page) -> None:
    if not await page.locator(tid("meeting-menu")).is_visible():
        await page.click(tid("meeting-menu-button"))
    await expect(page.locator(tid("meeting-menu"))).to_be_visible()


async def file_names(page: Page) -> list[str]:
    names: list[str] = await page.locator(tid("recording-file-link")).evaluate_all(
        "links => links.map(a => a.dataset.file)"
    )
    return names


async def test_host_lists_and_downloads_the_recordings(browser: Browser, tmp_path: Path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text("recording_host_download = true\n")
    server = ServerProcess(tmp_path, "--config", str(config))
    try:
        context = await browser.new_context(permissions=["camera", "microphone"])
        host = await context.new_page()
        await host.goto(f"{server.url}/r/dl-room?name=Hana&autojoin=1")
        await wait_joined(host)
        await open_menu(host)
        section = host.locator(tid("recording-links"))
        await expect(section).to_be_visible()
        await expect(section).to_contain_text("Recordings of this meeting")

        # Nothing recorded yet: an empty list, no error.
        await host.click(tid("recording-links-button"))
        await expect(host.locator(tid("recording-links-status"))).to_have_text(
            "No recordings of this meeting yet.", timeout=SEEN
        )
        await expect(host.locator(tid("recording-file-link"))).to_have_count(0)

        await host.click(tid("record-start-button"))
        await expect(host.locator(tid("recording-indicator"))).to_have_attribute(
            "data-state", "recording", timeout=SEEN
        )
        await asyncio.sleep(3)
        await host.click(tid("record-stop-button"))
        await expect(host.locator(tid("recording-indicator"))).to_be_hidden(timeout=SEEN)

        await open_menu(host)
        await host.click(tid("recording-links-button"))
        item = host.locator(tid("recording-link-item"))
        await expect(item).to_have_count(1, timeout=SEEN)
        recording_id = await item.get_attribute("data-recording-id")
        assert recording_id
        # State and duration ("Ready · 0:03 · started …" or "Processing: … · 0:03 · …").
        await expect(host.locator(tid("recording-link-facts"))).to_contain_text(":0")
        links = host.locator(tid("recording-file-link"))
        await expect(links.first).to_be_visible(timeout=SEEN)
        names = await file_names(host)
        assert any(name.endswith("-camera.webm") for name in names), names
        assert await host.locator(tid("recording-links-error")).text_content() == ""
        await expect(host.locator(tid("recording-links-button"))).to_have_text("Refresh recordings")

        # Refresh until the composite video is rendered (the recording is then
        # "ready"; the file is listed a little earlier, while it is written); it
        # then comes first. Rendering takes a few seconds on an idle machine and
        # far longer on a loaded one: 2 minutes is a bound, not a speed.
        for _ in range(240):
            ready = await item.get_attribute("data-state") == "ready"
            if ready and "composite.mp4" in await file_names(host):
                break
            await asyncio.sleep(0.5)
            await host.click(tid("recording-links-button"))
            await expect(host.locator(tid("recording-links-button"))).to_be_enabled()
        names = await file_names(host)
        assert names[0] == "composite.mp4", names
        await expect(item).to_have_attribute("data-state", "ready")
        await screenshot(host, "host-recording-links")

        # Every link opens its file as it is on the server's disk, without an API key.
        directory = tmp_path / "data" / "recordings" / recording_id
        for name in names:
            link = host.locator(f'{tid("recording-file-link")}[data-file="{name}"]')
            href = await link.get_attribute("href")
            assert href and "download_token=" in href
            assert await link.get_attribute("download") == name
            got: dict[str, Any] = await link.evaluate(FOLLOW)
            on_disk = (directory / name).read_bytes()
            assert got["status"] == 200, (name, got)
            assert got["size"] == len(on_disk) and int(got["length"]) == len(on_disk)
            assert got["sha256"] == hashlib.sha256(on_disk).hexdigest(), name
        await context.close()
    finally:
        server.stop()


async def test_by_default_the_host_is_told_only_admins_download(open_page) -> None:
    host = await open_page("dl-default", "Hana")
    await wait_joined(host)
    cora = await open_page("dl-default", "Cora")
    await wait_joined(cora)
    cora_id = await cora.evaluate("window.meeting.participantId")

    await open_menu(host)
    await host.click(tid("recording-links-button"))
    error = host.locator(tid("recording-links-error"))
    await expect(error).to_have_text(
        "On this server only administrators download recordings.", timeout=SEEN
    )
    await expect(host.locator(tid("recording-file-link"))).to_have_count(0)
    await expect(host.locator(tid("recording-links-button"))).to_be_enabled()
    await screenshot(host, "host-recording-links-refused")

    # A co-host controls the recording but gets no download section.
    await host.click(tid("participants-button"))
    row = host.locator(f'{tid("participant-row")}[data-participant-id="{cora_id}"]')
    await row.locator(tid("make-cohost-button")).click()
    await expect(cora.locator(tid("meeting-menu-button"))).to_be_visible(timeout=SEEN)
    await open_menu(cora)
    await expect(cora.locator(tid("record-controls"))).to_be_visible()
    await expect(cora.locator(tid("recording-links"))).to_be_hidden()
