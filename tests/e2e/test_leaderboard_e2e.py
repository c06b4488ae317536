"""Participation points in real browsers: the host turns them on in the
meeting menu and shows the leaderboard to everyone; a participant chats, opens
the leaderboard panel and finds both people with their own row marked and
their rank; when the host goes back to "hosts only", the participant's button
and panel go away."""

from __future__ import annotations

import pytest
from e2e_helpers import join, screenshot, tid
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up


async def open_menu(page: Page) -> None:
    if not await page.locator(tid("meeting-menu")).is_visible():
        await page.click(tid("meeting-menu-button"))
    await expect(page.locator(tid("participation-settings"))).to_be_visible()


async def test_the_host_shows_the_leaderboard_and_a_participant_sees_their_rank(open_page):
    host, _ = await join(open_page, "points-room", "Hana")
    guest, guest_id = await join(open_page, "points-room", "Gus")
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)
    # Points are off: nobody has a leaderboard button; participants have no menu.
    await expect(guest.locator(tid("leaderboard-button"))).to_be_hidden()
    await expect(host.locator(tid("leaderboard-button"))).to_be_hidden()
    await expect(guest.locator(tid("participation-toggle"))).to_have_count(1)
    await expect(guest.locator(tid("meeting-menu-button"))).to_be_hidden()

    await open_menu(host)
    await host.select_option(tid("participation-visibility"), "everyone")
    await host.check(tid("participation-toggle"))
    await expect(host.locator(tid("participation-toggle"))).to_be_checked(timeout=SEEN)
    await expect(host.locator(tid("leaderboard-button"))).to_be_visible(timeout=SEEN)
    await screenshot(host, "participation-menu")
    await host.keyboard.press("Escape")

    await expect(guest.locator(tid("leaderboard-button"))).to_be_visible(timeout=SEEN)
    await guest.evaluate("window.meeting.interaction.sendChat('Hello from Gus')")
    await guest.click(tid("leaderboard-button"))
    panel = guest.locator(tid("leaderboard-panel"))
    await expect(panel).to_be_visible()
    rows = panel.locator(tid("leaderboard-row"))
    await expect(rows).to_have_count(2, timeout=SEEN)
    mine = panel.locator(f'{tid("leaderboard-row")}[data-participant-id="{guest_id}"]')
    await expect(mine).to_have_class("leaderboard-row self")
    # One chat message: one point, Gus ahead of Hana (the board asks again every 5 s).
    await expect(mine).to_contain_text("1 message", timeout=SEEN)
    await expect(rows.first).to_have_attribute("data-participant-id", guest_id)
    await expect(panel.locator(tid("leaderboard-mine"))).to_contain_text("number 1 of 2")
    await expect(panel.locator(tid("leaderboard-note"))).to_contain_text("Everyone")
    await screenshot(guest, "leaderboard-panel")

    # Hosts only again: the participant's button and open panel go.
    await open_menu(host)
    await host.select_option(tid("participation-visibility"), "host")
    await expect(guest.locator(tid("leaderboard-button"))).to_be_hidden(timeout=SEEN)
    await expect(panel).to_be_hidden()
    await host.keyboard.press("Escape")
    await host.click(tid("leaderboard-button"))
    await expect(
        host.locator(f"{tid('leaderboard-panel')} {tid('leaderboard-row')}")
    ).to_have_count(2, timeout=SEEN)
