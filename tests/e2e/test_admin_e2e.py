"""The admin page (``GET /admin``) in real Chromium: an admin API key pasted
into the page (kept in sessionStorage only), the recordings list with states
and the composite's progress refreshing by itself, a download through the
Authorization header, and delete after a confirmation.

The recordings are made on disk (no media): ``RecordingLibrary.create`` and
``save``, after the server started (so its start-up does not render or mark
them)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from e2e_helpers import screenshot, tid
from playwright.async_api import Browser, Page, expect
from running_server import RunningServer
from server_keys import ADMIN_KEY

from conf_server import Settings
from recording.library import RecordingLibrary

pytestmark = pytest.mark.e2e

SEEN = 5_000  # ms
TRACK = "track-001-camera.webm"
TRACK_BYTES = bytes(range(256)) * 300


def row(page: Page, recording_id: str) -> Any:
    return page.locator(f'{tid("recording-row")}[data-recording-id="{recording_id}"]')


def make_recording(
    library: RecordingLibrary, state: str, age: float, files: dict[str, bytes], **meta: Any
) -> dict[str, Any]:
    now = time.time()
    record = library.create({"meeting_id": f"m-{state}", "started_at": now - age, **meta})
    directory = library.directory(record["id"])
    assert directory is not None
    for name, content in files.items():
        (directory / name).write_bytes(content)
    record["state"] = state
    if state != "recording":
        record["ended_at"] = now - age + 600
        record["duration"] = 600.0
    library.save(record)
    return record


async def new_key(server: RunningServer, scope: str) -> str:
    """A new API key of ``scope``, made through the admin API."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/v1/admin/keys",
            json={"name": "e2e", "scope": scope},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ) as response,
    ):
        assert response.status == 201
        key: str = (await response.json())["key"]
        return key


async def paste_key(page: Page, key: str) -> None:
    await page.fill(tid("admin-key-input"), key)
    await page.click(tid("admin-key-save-button"))


async def test_admin_lists_downloads_and_deletes_recordings(
    server: RunningServer, settings: Settings, browser: Browser, tmp_path: Path
) -> None:
    library = RecordingLibrary(settings.recordings_dir)
    people = [{"id": "p_1", "name": "Ada"}, {"id": "p_2", "name": "Bob"}]
    live = make_recording(library, "recording", 60, {}, room="standup", title=None)
    rendering = make_recording(
        library,
        "processing",
        3600,
        {TRACK: b"x" * 100},
        room="design",
        title="Design review",
        participants=people,
        composite={"state": "rendering", "progress": 0.4, "file": None, "error": None},
    )
    ready = make_recording(
        library,
        "ready",
        7200,
        {TRACK: TRACK_BYTES, "composite.mp4": b"mp4" * 50},
        room="retro-42",
        title="Sprint retro",
        participants=people,
        composite={"state": "ready", "progress": 1.0, "file": "composite.mp4", "error": None},
    )
    failed = make_recording(
        library,
        "failed",
        9000,
        {TRACK: b"y" * 10},
        room="oops",
        title="Broken one",
        composite={"state": "failed", "progress": 0.2, "file": None, "error": "disk full"},
    )
    integration_key = await new_key(server, "integration")

    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    page.on("console", lambda m: print(f"[admin] {m.type}: {m.text}"))
    await page.goto(f"{server.url}/admin")
    error = page.locator(tid("admin-error"))

    # A wrong key, then a key that is not an admin key: clear texts, no list.
    await paste_key(page, "not-a-key")
    await expect(error).to_contain_text("not accepted", timeout=SEEN)
    await expect(page.locator(tid("recording-row"))).to_have_count(0)
    await paste_key(page, integration_key)
    await expect(error).to_contain_text("not an admin key", timeout=SEEN)
    assert await page.evaluate("sessionStorage.length") == 0

    # The admin key: every recording, newest first, with its state.
    await paste_key(page, ADMIN_KEY)
    rows = page.locator(tid("recording-row"))
    await expect(rows).to_have_count(4, timeout=SEEN)
    await expect(error).to_be_hidden()
    ids = [await rows.nth(i).get_attribute("data-recording-id") for i in range(4)]
    assert ids == [live["id"], rendering["id"], ready["id"], failed["id"]]
    states = [await rows.nth(i).get_attribute("data-state") for i in range(4)]
    assert states == ["recording", "processing", "ready", "failed"]
    assert ADMIN_KEY not in page.url
    assert await page.evaluate("Object.values(sessionStorage)") == [ADMIN_KEY]
    await expect(row(page, ready["id"])).to_contain_text("Sprint retro")
    await expect(row(page, ready["id"])).to_contain_text("Ada, Bob")
    await expect(row(page, ready["id"])).to_contain_text("10:00")
    await expect(row(page, failed["id"])).to_contain_text("disk full")
    await expect(row(page, live["id"]).locator(tid("recording-delete-button"))).to_be_disabled()

    # The composite's progress, refreshed by itself while it renders.
    progress = row(page, rendering["id"]).locator(tid("recording-progress"))
    await expect(progress).to_have_attribute("value", "0.4")
    rendering["composite"]["progress"] = 0.9
    library.save(rendering)
    await expect(progress).to_have_attribute("value", "0.9", timeout=SEEN)
    await screenshot(page, "admin-recordings-phone")
    await page.set_viewport_size({"width": 1100, "height": 900})
    await screenshot(page, "admin-recordings")

    # Download: fetched with the key, saved as the same bytes.
    async with page.expect_download() as download_info:
        link = f'{tid("recording-download-link")}[data-file="{TRACK}"]'
        await row(page, ready["id"]).locator(link).click()
    download = await download_info.value
    assert download.suggested_filename == TRACK
    saved = tmp_path / "saved.webm"
    await download.save_as(saved)
    assert saved.read_bytes() == TRACK_BYTES

    # Delete: Cancel keeps it, Delete removes the row and the directory.
    directory = library.directory(failed["id"])
    assert directory is not None and directory.is_dir()
    await row(page, failed["id"]).locator(tid("recording-delete-button")).click()
    await page.click(tid("cancel-button"))
    await expect(row(page, failed["id"])).to_have_count(1)
    await row(page, failed["id"]).locator(tid("recording-delete-button")).click()
    await page.click(tid("confirm-button"))
    await expect(row(page, failed["id"])).to_have_count(0, timeout=SEEN)
    assert not directory.exists()
    await expect(rows).to_have_count(3)

    # The key stays for this tab (a reload lists at once) until it is forgotten.
    await page.reload()
    await expect(rows).to_have_count(3, timeout=SEEN)
    await page.click(tid("admin-key-forget-button"))
    await expect(rows).to_have_count(0)
    await expect(page.locator(tid("admin-key-input"))).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0

    # The server out of reach: said so, and the page tries again by itself.
    await page.route("**/api/v1/recordings", lambda route: route.abort())
    await paste_key(page, ADMIN_KEY)
    await expect(error).to_contain_text("Cannot reach the server", timeout=SEEN)
    await page.unroute("**/api/v1/recordings")
    await expect(rows).to_have_count(3, timeout=8_000)
    await expect(error).to_be_hidden()
    await context.close()
