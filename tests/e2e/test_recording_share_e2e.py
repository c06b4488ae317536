"""A recording's share link in real Chromium: the link opens the player page,
which asks for the password; a wrong one is refused on the page; the right
one plays the real composite (its time advances, its frames have a size),
shows the transcript below it and as the video's WebVTT track. The page
keeps the password out of the address and storage; the session cookie is
HttpOnly (the page's script cannot read it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import ServerProcess, screenshot, tid, wait_joined
from playwright.async_api import Browser, BrowserContext, Page, expect
from running_server import RunningServer
from server_keys import ADMIN_KEY
from shared_recording import SEGMENTS, TITLE, shared_recording

from conf_server import Settings
from recording.library import RecordingLibrary

pytestmark = pytest.mark.e2e

PASSWORD = "open sesame, please"
SEEN = 10_000  # ms


async def watch(browser: Browser, link: str) -> tuple[BrowserContext, Page]:
    """A fresh browser (no key, no cookie) that opens ``link`` with the password."""
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(link)
    await page.fill(tid("share-password-input"), PASSWORD)
    await page.click(tid("share-open-button"))
    await expect(page.locator(tid("share-video"))).to_be_visible(timeout=SEEN)
    return context, page


async def test_a_share_link_asks_for_the_password_then_plays_the_recording(
    server: RunningServer, settings: Settings, browser: Browser
) -> None:
    recording_id = shared_recording(settings.recordings_dir)
    context = await browser.new_context(locale="en-US", viewport={"width": 1000, "height": 1100})
    page = await context.new_page()
    page.on("console", lambda m: print(f"[share] {m.type}: {m.text}"))
    share = await page.request.post(
        f"{server.url}/api/v1/recordings/{recording_id}/shares",
        data={"password": PASSWORD, "expires_in": 3600},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert share.status == 201
    link = server.url + (await share.json())["url"]

    await page.goto(link)
    password = page.locator(tid("share-password-input"))
    await expect(password).to_be_visible(timeout=SEEN)
    await expect(page.locator(tid("share-video"))).to_be_hidden()

    # A wrong password: said on the page, nothing plays.
    await password.fill("not the password")
    await page.click(tid("share-open-button"))
    error = page.locator(tid("share-error"))
    await expect(error).to_have_attribute("data-code", "wrong_password", timeout=SEEN)
    await expect(error).to_contain_text("not right")
    await expect(page.locator(tid("share-video"))).to_be_hidden()
    await screenshot(page, "recording-share-wrong-password")

    # The right one: the video plays and the transcript shows.
    await password.fill(PASSWORD)
    await page.click(tid("share-open-button"))
    video = page.locator(tid("share-video"))
    await expect(video).to_be_visible(timeout=SEEN)
    await expect(error).to_be_hidden()
    await expect(page.locator(tid("share-title"))).to_have_text(TITLE)
    await expect(page.locator(tid("share-transcript"))).to_contain_text(SEGMENTS[0].text)
    await expect(page.locator(tid("share-transcript"))).to_contain_text(SEGMENTS[1].text)
    await page.wait_for_function(
        "() => document.querySelector('video').readyState >= 2", timeout=SEEN
    )
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function(
        "() => document.querySelector('video').currentTime > 1.0", timeout=SEEN
    )
    size = await video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert size[0] > 0 and size[1] > 0
    # The WebVTT track is loaded with the transcript's cues.
    await page.wait_for_function(
        "() => { const t = document.querySelector('video').textTracks[0];"
        " return t && t.cues && t.cues.length === 2; }",
        timeout=SEEN,
    )
    # Seeking asks for a range again and keeps playing.
    await video.evaluate("v => { v.currentTime = 0.2; }")
    await page.wait_for_function(
        "() => { const v = document.querySelector('video');"
        " return !v.seeking && v.currentTime > 0.5; }",
        timeout=SEEN,
    )
    await screenshot(page, "recording-share-playing")

    # The session cookie is HttpOnly and scoped to this share's routes.
    assert await page.evaluate("document.cookie") == ""
    cookies = await context.cookies(link.replace("/s/", "/api/v1/shares/") + "/video")
    (cookie,) = [c for c in cookies if c["name"] == "share_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert PASSWORD not in page.url
    assert await page.evaluate("sessionStorage.length + localStorage.length") == 0
    await context.close()


async def test_a_revoked_link_says_so_in_the_readers_language(
    server: RunningServer, settings: Settings, browser: Browser
) -> None:
    recording_id = shared_recording(settings.recordings_dir)
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    route = f"{server.url}/api/v1/recordings/{recording_id}/shares"
    share = await (
        await page.request.post(
            route, data={"password": PASSWORD, "expires_in": 600}, headers=admin
        )
    ).json()
    revoked = await page.request.delete(f"{route}/{share['share_id']}", headers=admin)
    assert revoked.status == 200
    await page.goto(server.url + share["url"])
    error = page.locator(tid("share-error"))
    await expect(error).to_have_attribute("data-code", "share_revoked", timeout=SEEN)
    await expect(error).to_contain_text("zurückgezogen")
    await expect(page.locator(tid("share-title"))).to_have_text("Geteilte Aufzeichnung")
    await expect(page.locator(tid("share-password-input"))).to_be_hidden()
    await context.close()


async def test_an_admin_makes_a_link_on_the_admin_page_and_revokes_it(
    server: RunningServer, settings: Settings, browser: Browser
) -> None:
    recording_id = shared_recording(settings.recordings_dir)
    context = await browser.new_context(locale="en-US", viewport={"width": 1100, "height": 1000})
    page = await context.new_page()
    page.on("console", lambda m: print(f"[admin] {m.type}: {m.text}"))
    await page.goto(f"{server.url}/admin")
    await page.fill(tid("admin-key-input"), ADMIN_KEY)
    await page.click(tid("admin-key-save-button"))
    card = page.locator(f'{tid("recording-row")}[data-recording-id="{recording_id}"]')
    await expect(card).to_have_count(1, timeout=SEEN)
    await card.locator(tid("share-show-button")).click()

    # Too short a password: the server's reason, on the page.
    await card.locator(tid("share-new-password")).fill("short")
    await card.locator(tid("share-create-button")).click()
    await expect(card.locator(tid("share-admin-error"))).to_contain_text("8 to 256", timeout=SEEN)

    await card.locator(tid("share-new-password")).fill(PASSWORD)
    await card.locator(tid("share-new-note")).fill("for the auditors")
    await card.locator(tid("share-create-button")).click()
    item = card.locator(tid("share-item"))
    await expect(item).to_have_count(1, timeout=SEEN)
    await expect(item).to_have_attribute("data-state", "active")
    await expect(item).to_contain_text("for the auditors")
    await expect(card.locator(tid("share-new-password"))).to_have_value("")
    link = await item.locator(tid("share-url")).input_value()
    assert link.startswith(f"{server.url}/s/{recording_id}.")
    await screenshot(page, "recording-share-admin")

    # The link works in another browser (no admin key there).
    viewer_context, viewer = await watch(browser, link)

    # Revoked on the admin page: the viewer's next request is refused.
    await item.locator(tid("share-revoke-button")).click()
    await expect(item).to_have_attribute("data-state", "revoked", timeout=SEEN)
    await expect(item.locator(tid("share-revoke-button"))).to_have_count(0)
    answer = await viewer.request.get(link.replace("/s/", "/api/v1/shares/") + "/video")
    assert answer.status == 410
    await viewer_context.close()
    await context.close()


async def test_a_host_makes_a_link_from_the_meeting_menu(browser: Browser, tmp_path: Path) -> None:
    config = tmp_path / "conf.toml"
    config.write_text("recording_host_download = true\n")
    server = ServerProcess(tmp_path, "--config", str(config))
    try:
        context = await browser.new_context(locale="en-US", permissions=["camera", "microphone"])
        host = await context.new_page()
        await host.goto(f"{server.url}/r/share-room?name=Hana&autojoin=1")
        await wait_joined(host)
        # A rendered recording of this meeting (as the recorder and the
        # composite worker leave it), without minutes of rendering here.
        room = await host.request.get(f"{server.url}/api/v1/rooms/share-room")
        meeting_id = (await room.json())["meeting_id"]
        assert meeting_id
        library = RecordingLibrary(tmp_path / "data" / "recordings")
        recording_id = shared_recording(library.root)
        record = library.get(recording_id)
        assert record is not None
        record["meeting_id"] = meeting_id
        library.save(record)

        if not await host.locator(tid("meeting-menu")).is_visible():
            await host.click(tid("meeting-menu-button"))
        await host.click(tid("recording-links-button"))
        item = host.locator(f'{tid("recording-link-item")}[data-recording-id="{recording_id}"]')
        await expect(item).to_have_count(1, timeout=SEEN)
        await item.locator(tid("share-show-button")).click()
        await item.locator(tid("share-new-password")).fill(PASSWORD)
        await item.locator(tid("share-create-button")).click()
        share = item.locator(tid("share-item"))
        await expect(share).to_have_count(1, timeout=SEEN)
        link = await share.locator(tid("share-url")).input_value()
        await screenshot(host, "recording-share-host-menu")

        viewer_context, viewer = await watch(browser, link)
        await expect(viewer.locator(tid("share-title"))).to_have_text(TITLE)
        await viewer_context.close()

        listing = await host.request.get(
            f"{server.url}/api/v1/recordings/{recording_id}/shares",
            headers={"Authorization": f"Bearer {server.admin_key}"},
        )
        (made,) = (await listing.json())["shares"]
        assert made["created_by"] == "host"
        await context.close()
    finally:
        server.stop()
