"""Decisions in real browsers: the host marks one in the decisions panel,
the other person sees it appear (and has no field to mark one), the host
removes it and it goes for both; a participant's own try is refused."""

from __future__ import annotations

import pytest
from e2e_helpers import join, tid
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up


async def open_decisions(page: Page) -> None:
    if not await page.locator(tid("decisions-panel")).is_visible():
        await page.click(tid("decisions-button"))
    await expect(page.locator(tid("decisions-panel"))).to_be_visible()


async def test_the_host_marks_a_decision_everyone_sees_it(open_page):
    host, _ = await join(open_page, "decide-room", "Hana")
    guest, _ = await join(open_page, "decide-room", "Gus")
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)

    await open_decisions(host)
    await host.fill(tid("decision-input"), "Ship on Friday")
    await host.click(tid("mark-decision-button"))
    await expect(host.locator(tid("decision-input"))).to_have_value("")

    await open_decisions(guest)
    items = guest.locator(f"{tid('decisions-panel')} {tid('decision-item')}")
    await expect(items).to_have_count(1, timeout=SEEN)
    await expect(items.first).to_contain_text("Ship on Friday")
    await expect(items.first).to_contain_text("Hana")
    # Participants see the list only: no field, no remove button.
    await expect(guest.locator(tid("decision-input"))).to_be_hidden()
    await expect(guest.locator(tid("remove-decision-button"))).to_have_count(0)
    # The count shows on the button while the panel is closed, too.
    await expect(guest.locator(f"{tid('decisions-button')} .control-badge")).to_have_text("1")

    # Too long for the server (the chat's 2000): the host reads why, nothing is added.
    # (the field's maxlength stops typing; a pasted or scripted text reaches the server)
    await host.locator(tid("decision-input")).evaluate("el => el.removeAttribute('maxlength')")
    await host.fill(tid("decision-input"), "x" * 2001)
    await host.click(tid("mark-decision-button"))
    await expect(host.locator(tid("decision-error"))).not_to_be_empty(timeout=SEEN)
    await expect(items).to_have_count(1)

    await host.click(tid("remove-decision-button"))
    await expect(items).to_have_count(0, timeout=SEEN)
    await expect(host.locator(f"{tid('decisions-panel')} {tid('decision-item')}")).to_have_count(0)
