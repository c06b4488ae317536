"""Phones and small windows (issue 19, point 5) in real Chromium, German and
English (German labels are longer), at 390x844 and 360x640 held upright and
844x390 held sideways:

- the pre-join screen fits (nothing sideways, the join button reachable);
- every control is on screen and not covered (``document.elementFromPoint`` at
  its centre is the control or inside it), at least 44 px square: in the bar,
  or in the "More" menu, which the keyboard opens and closes too;
- the gallery's tiles of 4 and of 9 people lie inside the gallery, on one page,
  without overlap;
- the chat opens as a sheet over the whole screen, and its close button works;
- the language can be switched on the phone (in the More menu);
- the lobby: the waiting page and the host's card fit a phone.

Screenshots go to test-artifacts/phone-*.png, to be looked at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from e2e_helpers import ServerProcess, screenshot, tid, wait_joined
from playwright.async_api import Browser, BrowserContext, Page, expect
from signaling_client import SignalingClient

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SEEN = 10_000  # ms
JOINED = 60  # s: generous, the machine may be busy
VIEWPORTS = {"390x844": (390, 844), "360x640": (360, 640), "844x390": (844, 390)}
#: What the page says in each language: the microphone button, and the other language.
WORDS = {
    "de-DE": {"mute": "Stummschalten", "other": "en", "other_mute": "Mute", "chat": "Chat"},
    "en-US": {"mute": "Mute", "other": "de", "other_mute": "Stummschalten", "chat": "Chat"},
}
#: A finger's size (WCAG 2.5.5, Apple and Google guidelines).
TOUCH = 44

#: Every shown element that ``selector`` finds: its box inside the viewport, at
#: least ``touch`` px square, and the element at its centre is it (or inside
#: it). Returns the problems, and the test ids (or ids) of what was checked.
REACHABLE = """([selector, touch]) => {
  const problems = [];
  const checked = [];
  const inside = (r) => r.left >= -0.5 && r.top >= -0.5
    && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5;
  for (const el of document.querySelectorAll(selector)) {
    if (el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    const name = el.dataset.testid || el.id || el.getAttribute('aria-label');
    checked.push(name);
    if (!inside(r)) {
      problems.push(`${name} outside the viewport: ${JSON.stringify(r)}`);
      continue;
    }
    if (r.width < touch - 0.5 || r.height < touch - 0.5) {
      problems.push(`${name} smaller than ${touch} px: ${r.width}x${r.height}`);
    }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(hit === el || el.contains(hit))) {
      problems.push(`${name} covered by ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'}`);
    }
  }
  return { problems, checked };
}"""
#: The control bar's buttons and select, and those of the More menu while it is open.
CONTROLS = (
    "footer.controls button.control, footer.controls select,"
    " #more-menu:not([hidden]) button.control, #more-menu:not([hidden]) select"
)
CHAT_CLOSE = '[data-testid="chat-panel"] .panel-header button'

#: The controls a person may use now (not hidden for their role or state), in
#: the bar or in the More menu.
CONTROLS_THERE = """() => [...document.querySelectorAll(
    'footer.controls button.control, [data-testid="more-menu"] button.control')]
  .filter((b) => !b.hidden && b.dataset.testid !== 'more-button')
  .map((b) => b.dataset.testid)"""

#: The shown tiles: each inside the gallery's box, none overlapping another or the
#: control bar. Returns the problems, how many tiles are shown and on how many pages.
TILES_INSIDE = """() => {
  const gallery = document.querySelector('[data-testid="gallery"]');
  const area = gallery.getBoundingClientRect();
  const bar = document.querySelector('footer.controls').getBoundingClientRect();
  const tiles = [...document.querySelectorAll('[data-testid="tile"]')].filter((t) => !t.hidden);
  const boxes = tiles.map((t) => t.getBoundingClientRect());
  const problems = [];
  const cut = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const within = (r) => r.left >= area.left - 0.5 && r.top >= area.top - 0.5
    && r.right <= area.right + 0.5 && r.bottom <= area.bottom + 0.5;
  boxes.forEach((r, i) => {
    if (!within(r)) problems.push(`tile ${i} outside the gallery: ${JSON.stringify(r)}`);
    if (cut(r, bar)) problems.push(`tile ${i} under the control bar`);
    boxes.slice(i + 1).forEach((s, j) => {
      if (cut(r, s)) problems.push(`tiles ${i} and ${i + j + 1} overlap`);
    });
  });
  return { problems, shown: tiles.length, pages: gallery.dataset.pages };
}"""

NO_SIDEWAYS_SCROLL = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


@pytest.fixture
async def contexts() -> AsyncIterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


@pytest.fixture
async def bots() -> AsyncIterator[list[SignalingClient]]:
    """Media-free participants (their tiles show their initials)."""
    made: list[SignalingClient] = []
    yield made
    for bot in made:
        await bot.close()


async def phone(
    browser: Browser, contexts: list[BrowserContext], locale: str, size: tuple[int, int]
) -> Page:
    width, height = size
    context = await browser.new_context(
        locale=locale,
        permissions=["camera", "microphone"],
        viewport={"width": width, "height": height},
        has_touch=True,
    )
    contexts.append(context)
    page = await context.new_page()
    page.on("console", lambda m: print(f"[{locale} {width}x{height}] {m.type}: {m.text}"))
    return page


async def add_bots(server: ServerProcess, room: str, bots: list[SignalingClient], n: int) -> None:
    async def one(i: int) -> SignalingClient:
        bot = SignalingClient(server.url, f"Teilnehmer {len(bots) + i + 1}")
        await bot.connect()
        await bot.join(room)
        return bot

    bots.extend(await asyncio.gather(*(one(i) for i in range(n))))


async def assert_reachable(page: Page, state: str, selector: str = CONTROLS) -> list[str]:
    found: dict[str, Any] = await page.evaluate(REACHABLE, [selector, TOUCH])
    assert not found["problems"], f"{state}: " + "\n".join(found["problems"])
    checked: list[str] = found["checked"]
    return checked


async def assert_tiles_fit(page: Page, count: int, state: str) -> None:
    await expect(page.locator(tid("tile"))).to_have_count(count, timeout=SEEN)
    found: dict[str, Any] = await page.evaluate(TILES_INSIDE)
    assert not found["problems"], f"{state}: " + "\n".join(found["problems"])
    assert found["shown"] == count and found["pages"] == "1", f"{state}: {found}"


async def open_more(page: Page) -> None:
    menu = page.locator(tid("more-menu"))
    if not await menu.is_visible():
        await page.click(tid("more-button"))
    await expect(menu).to_be_visible()


async def use_control(page: Page, testid: str) -> None:
    """Click a control where it is: in the bar, or in the More menu."""
    if not await page.locator(tid(testid)).is_visible():
        await open_more(page)
    await page.click(tid(testid))


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", WORDS)
async def test_the_meeting_is_usable_on_a_phone(
    browser: Browser,
    conf_server: ServerProcess,
    contexts: list[BrowserContext],
    bots: list[SignalingClient],
    locale: str,
    viewport: str,
) -> None:
    words = WORDS[locale]
    width, height = VIEWPORTS[viewport]
    shot = f"phone-{viewport}-{locale[:2]}"
    room = f"handy-{viewport}-{locale[:2]}".lower()
    page = await phone(browser, contexts, locale, VIEWPORTS[viewport])

    # The pre-join screen: nothing sideways, the join button reachable.
    await page.goto(f"{conf_server.url}/r/{room}")
    join = page.locator(tid("join-button"))
    await expect(join).to_be_visible(timeout=SEEN)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, f"{shot}-prejoin")
    await page.fill(tid("name-input"), "Bärbel Groß")
    await join.scroll_into_view_if_needed()
    box = await join.bounding_box()
    assert box and box["height"] >= TOUCH - 0.5 and box["x"] + box["width"] <= width
    await join.click()
    await wait_joined(page, timeout=JOINED)
    # The interaction views (hand, chat, …) are there: the bar is complete.
    await expect(page.locator(tid("raise-hand-button"))).to_be_attached(timeout=SEEN)
    await expect(page.locator(tid("more-button"))).to_be_visible(timeout=SEEN)
    await expect(page.locator(tid("mic-button"))).to_have_attribute("aria-label", words["mute"])

    # Every control: in the bar, on screen and uncovered; the rest in the menu.
    for always in ("mic-button", "camera-button", "leave-button"):
        await expect(page.locator(tid(always))).to_be_visible()
    in_bar = await assert_reachable(page, "bar")
    assert "leave-button" in in_bar and "more-button" in in_bar
    await screenshot(page, f"{shot}-meeting")
    await page.click(tid("more-button"))
    await expect(page.locator(tid("more-menu"))).to_be_visible()
    in_menu = set(await assert_reachable(page, "More menu open")) - set(in_bar)
    there = set(await page.evaluate(CONTROLS_THERE))
    missing = there - set(in_bar) - in_menu
    assert not missing, f"neither in the bar nor in the menu: {missing}"
    assert {"chat-button", "participants-button", "raise-hand-button"} <= there
    assert "meeting-language" in in_menu  # the language switch, on every phone
    await screenshot(page, f"{shot}-more")
    # The keyboard: Escape closes the menu and gives the focus back to More;
    # Enter opens it with the focus on its first control.
    await page.keyboard.press("Escape")
    await expect(page.locator(tid("more-menu"))).to_be_hidden()
    assert await page.evaluate("document.activeElement.dataset.testid") == "more-button"
    await page.keyboard.press("Enter")
    await expect(page.locator(tid("more-menu"))).to_be_visible()
    assert await page.evaluate(
        "document.querySelector('[data-testid=\"more-menu\"]').contains(document.activeElement)"
    )
    await page.keyboard.press("Escape")

    # The chat: a sheet over the whole screen with a close button that works.
    await use_control(page, "chat-button")
    panel = page.locator(tid("chat-panel"))
    await expect(panel).to_be_visible()
    await expect(page.locator(tid("more-menu"))).to_be_hidden()
    sheet = await page.locator(".side-panel").bounding_box()
    assert sheet == {"x": 0, "y": 0, "width": width, "height": height}, sheet
    assert len(await assert_reachable(page, "the chat's close button", CHAT_CLOSE)) == 1
    await page.fill(tid("chat-input"), "Hallo vom Handy")
    await page.keyboard.press("Enter")
    await expect(panel.locator(tid("chat-message"))).to_have_count(1, timeout=SEEN)
    await screenshot(page, f"{shot}-chat")
    await page.click(CHAT_CLOSE)
    await expect(panel).to_be_hidden()
    await assert_reachable(page, "after the chat closed")

    # The gallery: 4 people, then 9, on one page inside the gallery.
    await add_bots(conf_server, room, bots, 3)
    await assert_tiles_fit(page, 4, "4 people")
    await screenshot(page, f"{shot}-gallery-4")
    await add_bots(conf_server, room, bots, 5)
    await assert_tiles_fit(page, 9, "9 people")
    await assert_reachable(page, "9 people")
    await screenshot(page, f"{shot}-gallery-9")

    # The language, switched on the phone: in the More menu.
    await open_more(page)
    await page.select_option("#meeting-language", words["other"])
    await expect(page.locator(tid("mic-button"))).to_have_attribute(
        "aria-label", words["other_mute"]
    )
    assert await page.evaluate("localStorage.getItem('conf-server.language')") == words["other"]
    await assert_reachable(page, "menu after the language switch")
    await screenshot(page, f"{shot}-switched")
    await page.keyboard.press("Escape")
    await expect(page.locator(tid("more-menu"))).to_be_hidden()
    await assert_reachable(page, "bar after the language switch")


async def test_the_lobby_fits_a_phone(
    browser: Browser,
    conf_server: ServerProcess,
    contexts: list[BrowserContext],
    bots: list[SignalingClient],
) -> None:
    room = "handy-lobby"
    host = await phone(browser, contexts, "en-US", VIEWPORTS["360x640"])
    await host.goto(f"{conf_server.url}/r/{room}?name=Ada&autojoin=1")
    await wait_joined(host, timeout=JOINED)
    await host.evaluate("window.meeting.interaction.configureMeeting({lobby_enabled: true})")

    waiting = await phone(browser, contexts, "de-DE", VIEWPORTS["360x640"])
    await waiting.goto(f"{conf_server.url}/r/{room}?name=Jörg&autojoin=1")
    await expect(waiting.locator(tid("waiting-screen"))).to_be_visible(timeout=SEEN)
    leave = waiting.locator(tid("waiting-leave-button"))
    box = await leave.bounding_box()
    assert box and box["y"] + box["height"] <= 640 and box["x"] + box["width"] <= 360
    assert await waiting.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(waiting, "phone-360x640-de-lobby-waiting")

    card = host.locator(tid("lobby-panel"))
    await expect(card).to_be_visible(timeout=SEEN)
    admit = card.locator(tid("admit-button"))
    card_box = await card.bounding_box()
    assert card_box and card_box["x"] >= 0 and card_box["x"] + card_box["width"] <= 360
    await assert_reachable(host, "host's bar with the lobby card")
    await assert_reachable(host, "the lobby card", f"{tid('lobby-panel')} button")
    await screenshot(host, "phone-360x640-en-lobby-host")
    await admit.click()
    await wait_joined(waiting, timeout=JOINED)
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)
