"""The accessibility audit (issue 19) in real Chromium: axe-core (WCAG 2.0/2.1
A and AA) finds no serious or critical violation on any page in any state —
landing, pre-join (with its device pickers), the meeting alone (and its
devices dialog) and with two others, with the chat, polls
(a launched poll), participants panel and the meeting menu open, on a phone
with the control bar's More menu and the chat sheet open, the lobby
(the waiting person's page and the host's list), the admin page with the admin
key, and a recording's share page. Screenshots of some states are kept in
test-artifacts/ to be looked at (focus rings, nothing broken)."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_audit import Audit
from e2e_helpers import PageFactory, ServerProcess, screenshot, tid, wait_joined
from playwright.async_api import Browser, Page, expect
from shared_recording import shared_recording

#: Many page states, each audited, on a machine that may be busy.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]

SEEN = 10_000  # ms
JOINED = 60  # s: generous, the machine may be busy
ROOM = "a11y-room"
PASSWORD = "open sesame, please"


async def open_panel(page: Page, panel: str) -> None:
    if not await page.locator(tid(f"{panel}-panel")).is_visible():
        await page.click(tid(f"{panel}-button"))
    await expect(page.locator(tid(f"{panel}-panel"))).to_be_visible()


async def launch_poll(host: Page) -> None:
    await open_panel(host, "polls")
    await host.fill(tid("poll-question-input"), "Lunch?")
    options = host.locator(tid("poll-option-input"))
    await options.nth(0).fill("Pizza")
    await options.nth(1).fill("Soup")
    await host.click(tid("poll-create-button"))
    poll = host.locator(tid("poll"))
    await poll.locator(tid("poll-launch-button")).click()
    await expect(poll).to_have_attribute("data-state", "open")


async def test_every_page_and_state_passes_axe(
    open_page: PageFactory, conf_server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    found = Audit()
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 720})
    page = await context.new_page()

    await page.goto(conf_server.url + "/")
    await expect(page.locator("h1").first).to_be_visible()
    await found.check(page, "landing")
    await page.keyboard.press("Tab")
    await screenshot(page, "a11y-landing-focus")

    prejoin = await open_page(ROOM, "Host", autojoin=False)
    await expect(prejoin.locator(tid("join-button"))).to_be_visible(timeout=SEEN)
    await found.check(prejoin, "pre-join")
    await prejoin.click(tid("join-button"))
    host = prejoin
    await wait_joined(host, timeout=JOINED)
    await found.check(host, "meeting alone")
    # The device pickers, level meter and processing switches (issue 19.2).
    await host.click(tid("devices-button"))
    await expect(host.locator(tid("devices-dialog"))).to_be_visible()
    await found.check(host, "devices dialog open")
    await host.keyboard.press("Escape")
    await expect(host.locator(tid("devices-dialog"))).to_be_hidden()

    ada = await open_page(ROOM, "Ada")
    bob = await open_page(ROOM, "Bob")
    for page_ in (ada, bob):
        await wait_joined(page_, timeout=JOINED)
    await expect(host.locator(tid("tile"))).to_have_count(3, timeout=JOINED * 1000)
    await found.check(host, "meeting with two others (host)")
    await found.check(ada, "meeting with two others (participant)")

    await open_panel(host, "chat")
    await host.fill(tid("chat-input"), "Hello, everyone")
    await host.keyboard.press("Enter")
    # Audited with the message in the list (its items must stay list items).
    await host.wait_for_selector(tid("chat-message"))
    await found.check(host, "chat panel open")
    await screenshot(host, "a11y-chat-panel")

    await launch_poll(host)
    await found.check(host, "polls panel with a launched poll (host)")
    await open_panel(ada, "polls")
    await expect(ada.locator(tid("poll"))).to_have_count(1, timeout=SEEN)
    await found.check(ada, "polls panel with a launched poll (participant)")
    await screenshot(ada, "a11y-polls-panel")

    await open_panel(host, "participants")
    await found.check(host, "participants panel open")

    await host.click(tid("meeting-menu-button"))
    await expect(host.locator(tid("meeting-menu"))).to_be_visible()
    await found.check(host, "meeting menu open")
    await screenshot(host, "a11y-meeting-menu")
    await host.keyboard.press("Escape")

    # A phone (issue 19.5): the control bar's More menu, then the chat as a sheet.
    await host.click(tid("participants-button"))  # closes the people panel
    await host.set_viewport_size({"width": 390, "height": 844})
    await host.click(tid("more-button"))
    await expect(host.locator(tid("more-menu"))).to_be_visible()
    await found.check(host, "phone: More menu open")
    await screenshot(host, "a11y-phone-more-menu")
    if not await host.locator(tid("chat-button")).is_visible():
        await host.click(tid("more-button"))
    await host.click(tid("chat-button"))
    await expect(host.locator(tid("chat-panel"))).to_be_visible()
    await found.check(host, "phone: chat sheet open")
    await host.click(f"{tid('chat-panel')} .panel-header button")
    await host.set_viewport_size({"width": 1280, "height": 720})

    # The lobby: the waiting person's page and the host's list.
    await host.evaluate("window.meeting.interaction.configureMeeting({lobby_enabled: true})")
    guest = await open_page(ROOM, "Guest")
    await expect(guest.locator(tid("waiting-screen"))).to_be_visible(timeout=SEEN)
    await found.check(guest, "lobby (waiting)")
    await expect(host.locator(tid("lobby-panel"))).to_be_visible(timeout=SEEN)
    await found.check(host, "lobby (host's list)")
    await screenshot(host, "a11y-lobby-host")

    # The admin page with the admin key, listing a recording.
    recording_id = shared_recording(tmp_path / "data" / "recordings")
    await page.goto(conf_server.url + "/admin")
    await found.check(page, "admin (no key)")
    await page.fill(tid("admin-key-input"), conf_server.admin_key)
    await page.click(tid("admin-key-save-button"))
    await expect(page.locator(tid("recording-row"))).to_have_count(1, timeout=SEEN)
    await found.check(page, "admin (with the key)")
    await screenshot(page, "a11y-admin")

    # A recording's share page: the password form, then the player.
    made = await page.request.post(
        f"{conf_server.url}/api/v1/recordings/{recording_id}/shares",
        data={"password": PASSWORD, "expires_in": 3600},
        headers={"Authorization": f"Bearer {conf_server.admin_key}"},
    )
    assert made.status == 201
    await page.goto(conf_server.url + (await made.json())["url"])
    await expect(page.locator(tid("share-password-input"))).to_be_visible(timeout=SEEN)
    await found.check(page, "share page (password)")
    await page.fill(tid("share-password-input"), PASSWORD)
    await page.click(tid("share-open-button"))
    await expect(page.locator(tid("share-video"))).to_be_visible(timeout=SEEN)
    await found.check(page, "share page (player)")
    await context.close()

    assert not found.found, "serious or critical accessibility violations:\n" + found.report()


async def heard(page: Page, text: str, urgent: bool = False) -> None:
    """The page's live region (polite, or assertive when ``urgent``) says ``text``."""
    region = page.locator(tid("announcer-urgent" if urgent else "announcer"))
    await expect(region).to_have_attribute("aria-live", "assertive" if urgent else "polite")
    await expect(region).to_have_text(text, timeout=SEEN)


async def test_screen_readers_hear_joins_leaves_hands_polls_and_recording(
    open_page: PageFactory,
) -> None:
    host = await open_page("a11y-live", "Hana")
    await wait_joined(host, timeout=JOINED)
    ada = await open_page("a11y-live", "Ada")
    await wait_joined(ada, timeout=JOINED)
    await heard(host, "Ada joined the meeting")
    # Who was there at join is not news to Ada.
    await expect(ada.locator(tid("announcer"))).to_have_text("")

    # Ada raises her hand; the host calls on her: urgent for Ada, polite for the host.
    await ada.click(tid("raise-hand-button"))
    await open_panel(host, "hands")
    await expect(host.locator(tid("next-hand-button"))).to_be_visible(timeout=SEEN)
    await host.click(tid("next-hand-button"))
    await heard(ada, "The host called on you. You may speak now.", urgent=True)
    await heard(host, "The host called on Ada")

    await launch_poll(host)
    await heard(ada, "A poll opened: Lunch?")

    if not await host.locator(tid("meeting-menu")).is_visible():
        await host.click(tid("meeting-menu-button"))
    await host.click(tid("record-start-button"))
    recording = ada.locator(tid("recording-announcer"))
    await expect(recording).to_have_attribute("aria-live", "polite")
    await expect(recording).to_have_text("Hana started recording this meeting.", timeout=SEEN)
    await host.click(tid("record-stop-button"))
    await expect(recording).to_have_text("Hana stopped the recording.", timeout=SEEN)
    await host.keyboard.press("Escape")

    await ada.click(tid("leave-button"))
    await heard(host, "Ada left the meeting")
    await screenshot(host, "a11y-announced-leave")
