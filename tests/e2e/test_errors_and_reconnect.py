"""What a person sees when devices are denied or the network drops for a moment."""

from __future__ import annotations

import asyncio

import pytest
from e2e_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    screenshot,
    tile_frames,
    wait_joined,
    wait_until,
)
from playwright.async_api import async_playwright

pytestmark = pytest.mark.e2e


async def test_denied_camera_and_microphone_are_explained_and_meeting_still_works(
    test_network, conf_server, open_page
):
    host = await open_page("denied", "Host")
    await wait_joined(host)
    # A browser whose user refuses camera and microphone (no fake permission UI).
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        context = await browser.new_context(permissions=[])
        page = await context.new_page()
        await page.goto(f"{conf_server.url}/r/denied?name=Shy&autojoin=1")
        await wait_joined(page)
        status = page.locator('[data-testid="status"]')
        await status.filter(has_text="amera").wait_for(timeout=10000)
        text = (await status.inner_text()).lower()
        assert "camera" in text and "microphone" in text, text
        await screenshot(page, "devices-denied")

        # Receive-only still sees the host's video.
        async def host_video_plays() -> bool:
            frames = await tile_frames(page)
            return len(frames) == 1 and all(n > 0 for n in frames.values())

        await wait_until(host_video_plays, timeout=15)
        await browser.close()


async def test_short_network_loss_reconnects_by_itself(open_page):
    stay = await open_page("blip", "Stay")
    blip = await open_page("blip", "Blip")
    await wait_joined(stay)
    await wait_joined(blip)
    blip_id = await blip.evaluate("window.meeting.participantId")
    await blip.context.set_offline(True)
    states = set()
    for _ in range(30):
        states.add(await blip.evaluate("document.body.dataset.state"))
        await asyncio.sleep(0.1)
    await blip.context.set_offline(False)
    await wait_joined(blip, timeout=30)
    assert "reconnecting" in states, states
    assert await blip.evaluate("window.meeting.participantId") == blip_id

    async def blip_plays_again() -> bool:
        first = await tile_frames(stay)
        await asyncio.sleep(0.5)
        second = await tile_frames(stay)
        return list(second) == [blip_id] and second[blip_id] > first.get(blip_id, 0)

    await wait_until(blip_plays_again, timeout=20)
