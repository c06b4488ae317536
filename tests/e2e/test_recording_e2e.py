"""Recording in real browsers: the host's record controls, everyone's indicator,
and the notice a person joining a recorded meeting answers before anything of
theirs is published. The host is whoever opens the room first; the server's
recording policy is the default (``hosts``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from e2e_helpers import ServerProcess, join, received_from, screenshot, tid, wait_joined, wait_until
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up

# What the page's publish connection sends, and what the session means to publish.
PUBLISHING = """() => {
  const peers = window.meeting._peers;
  if (!peers) return {sources: [], senders: 0};
  return {sources: peers.publisher.publishedSources,
          senders: peers.publisher.pc.getSenders().filter(s => s.track).length};
}"""


async def record(host: Page, action: str) -> None:
    """Click Start recording / Pause / Resume / Stop in the host's meeting menu."""
    if not await host.locator(tid("meeting-menu")).is_visible():
        await host.click(tid("meeting-menu-button"))
    await host.click(tid(f"record-{action}-button"))


async def expect_indicator(pages: list[Page], state: str | None) -> None:
    for page in pages:
        indicator = page.locator(tid("recording-indicator"))
        if state is None:
            await expect(indicator).to_be_hidden(timeout=SEEN)
        else:
            await expect(indicator).to_be_visible(timeout=SEEN)
            await expect(indicator).to_have_attribute("data-state", state, timeout=SEEN)


async def test_host_records_and_everyone_sees_the_indicator(open_page):
    host, _ = await join(open_page, "rec-room", "Host")
    ada, _ = await join(open_page, "rec-room", "Ada")
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)
    await expect_indicator([host, ada], None)
    # Participants have no record controls.
    await expect(ada.locator(tid("meeting-menu-button"))).to_be_hidden()

    await host.click(tid("meeting-menu-button"))
    await expect(host.locator(tid("record-pause-button"))).to_be_hidden()
    await expect(host.locator(tid("record-stop-button"))).to_be_hidden()
    await record(host, "start")
    await expect_indicator([host, ada], "recording")
    await expect(ada.locator(tid("recording-indicator"))).to_have_text("Recording")
    # Ada is told (status line, and screen readers through the live region); nothing blocks her.
    await expect(ada.locator(tid("status"))).to_contain_text("Host started recording", timeout=SEEN)
    await expect(ada.locator(tid("recording-announcer"))).to_have_text(
        "Host started recording this meeting."
    )
    await expect(ada.locator(tid("recording-consent"))).to_have_count(0)
    await expect(host.locator(tid("record-start-button"))).to_be_hidden()
    await expect(host.locator(tid("record-resume-button"))).to_be_hidden()
    await screenshot(ada, "recording-indicator")

    await record(host, "pause")
    await expect_indicator([host, ada], "paused")
    await expect(ada.locator(tid("recording-indicator"))).to_have_text("Recording paused")
    await expect(host.locator(tid("record-pause-button"))).to_be_hidden()
    await record(host, "resume")
    await expect_indicator([host, ada], "recording")

    await record(host, "stop")
    await expect_indicator([host, ada], None)
    await expect(ada.locator(tid("recording-announcer"))).to_have_text(
        "Host stopped the recording."
    )
    await expect(host.locator(tid("record-start-button"))).to_be_visible()
    await expect(host.locator(tid("record-error"))).to_be_empty()


async def test_joining_a_recorded_meeting_asks_before_publishing(open_page):
    host, _ = await join(open_page, "rec-consent", "Host")
    await record(host, "start")
    await expect_indicator([host], "recording")

    bob, bob_id = await join(open_page, "rec-consent", "Bob")
    consent = bob.locator(tid("recording-consent"))
    await expect(consent).to_be_visible(timeout=SEEN)
    await expect(consent).to_contain_text("This meeting is being recorded")
    await expect(bob.locator(tid("recording-indicator"))).to_have_attribute(
        "data-state", "recording"
    )
    # Bob is in the meeting (the host sees him) but sends nothing while he decides.
    await expect(host.locator(f'{tid("tile")}[data-participant-id="{bob_id}"]')).to_be_visible(
        timeout=SEEN
    )
    await asyncio.sleep(1.5)
    assert await bob.evaluate(PUBLISHING) == {"sources": [], "senders": 0}
    assert (await received_from(host, bob_id, "video"))["packets"] == 0
    assert (await received_from(host, bob_id, "audio"))["packets"] == 0
    await screenshot(bob, "recording-consent")

    await bob.click(tid("recording-consent-continue"))
    await expect(consent).to_have_count(0)

    async def host_sees_bob() -> bool:
        return (await received_from(host, bob_id, "video"))["framesDecoded"] > 0

    await wait_until(host_sees_bob, timeout=15)
    assert sorted((await bob.evaluate(PUBLISHING))["sources"]) == ["camera", "microphone"]

    # Leave: nothing is ever published, and the person is out of the meeting.
    cleo, cleo_id = await join(open_page, "rec-consent", "Cleo")
    await expect(cleo.locator(tid("recording-consent"))).to_be_visible(timeout=SEEN)
    await cleo.click(tid("recording-consent-leave"))
    await cleo.wait_for_selector("body[data-state='left']", timeout=SEEN)
    await expect(cleo.locator(tid("recording-consent"))).to_have_count(0)
    await expect(host.locator(f'{tid("tile")}[data-participant-id="{cleo_id}"]')).to_have_count(
        0, timeout=SEEN
    )
    assert (await received_from(host, cleo_id, "video"))["packets"] == 0


async def test_a_refused_start_is_explained(browser, tmp_path: Path):
    """Under ``recording_policy = "disabled"`` the host is told why nothing records."""
    config = tmp_path / "conf.toml"
    config.write_text('recording_policy = "disabled"\n')
    server = ServerProcess(tmp_path, "--config", str(config))
    try:
        context = await browser.new_context(permissions=["camera", "microphone"])
        host = await context.new_page()
        await host.goto(f"{server.url}/r/rec-off?name=Host&autojoin=1")
        await wait_joined(host)
        await record(host, "start")
        error = host.locator(tid("record-error"))
        await expect(error).to_have_text(
            "Recording is turned off on this server. Ask its administrator.", timeout=SEEN
        )
        await expect(host.locator(tid("recording-indicator"))).to_be_hidden()
        await expect(host.locator(tid("record-start-button"))).to_be_enabled()
        await screenshot(host, "recording-refused")
        await context.close()
    finally:
        server.stop()
