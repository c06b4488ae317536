"""The pages speak the browser's language (issue 19, point 1): real Chromium
with ``de-DE`` and ``en-US`` (Playwright's ``locale`` sets
``navigator.languages`` and ``Accept-Language``), asserting on the German and
English text a person sees on the landing page, the pre-join screen, the
meeting, the lobby and the admin page; the language switch and its being
remembered; a date formatted in German; a server error code shown in German.

Screenshots of every German page go to test-artifacts/lang-de-*.png, to look
at whether the layout holds with the longer German words."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from client_build import copy_client
from e2e_helpers import screenshot, tid, wait_joined
from playwright.async_api import Browser, BrowserContext, Page, expect
from running_server import RunningServer
from server_keys import ADMIN_KEY

from conf_server import Settings
from conf_server.http import web_pages
from recording.library import RecordingLibrary

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms


async def new_page(
    browser: Browser, locale: str, contexts: list[BrowserContext], name: str
) -> Page:
    """A page in a fresh context of ``locale`` with camera and microphone allowed."""
    context = await browser.new_context(
        locale=locale,
        permissions=["camera", "microphone"],
        viewport={"width": 1280, "height": 720},
    )
    contexts.append(context)
    page = await context.new_page()
    page.on("console", lambda m: print(f"[{name}] {m.type}: {m.text}"))
    return page


#: Whether the control bar fits: nothing overflows it, and its buttons start
#: right of the room's name and count (German labels are much longer).
BAR_FITS = """() => {
  const bar = document.querySelector("footer.controls");
  const info = document.querySelector(".bar-info").getBoundingClientRect();
  const first = document.querySelector(".controls-buttons").getBoundingClientRect();
  return bar.scrollWidth <= bar.clientWidth + 1 && info.right <= first.left + 1;
}"""


async def wait_until_fits(page: Page) -> None:
    await page.wait_for_function(BAR_FITS, timeout=SEEN)


@pytest.fixture
async def contexts() -> Any:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


async def test_landing_follows_the_browser_and_remembers_the_switch(
    browser: Browser, conf_server: Any, contexts: list[BrowserContext]
) -> None:
    german = await new_page(browser, "de-DE", contexts, "de")
    await german.goto(f"{conf_server.url}/")
    await expect(german.locator(tid("start-button"))).to_have_text("Besprechung starten")
    await expect(german.locator("h1")).to_have_text("Videobesprechungen")
    assert await german.evaluate("document.documentElement.lang") == "de"
    assert await german.get_attribute(tid("join-room-input"), "placeholder") == "z. B. team-standup"
    # A client-side check in German.
    await german.click(tid("join-meeting-button"))
    await expect(german.locator("#join-form .form-error")).to_contain_text("Besprechungs-ID")
    await screenshot(german, "lang-de-landing")

    english = await new_page(browser, "en-US", contexts, "en")
    await english.goto(f"{conf_server.url}/")
    await expect(english.locator(tid("start-button"))).to_have_text("Start a meeting")
    assert await english.evaluate("document.documentElement.lang") == "en"

    # The switch: English on the German browser, at once and after a reload.
    await german.select_option("#landing-language", "en")
    await expect(german.locator(tid("start-button"))).to_have_text("Start a meeting")
    await german.reload()
    await expect(german.locator(tid("start-button"))).to_have_text("Start a meeting")
    assert await german.input_value("#landing-language") == "en"
    # And back: the room page of the same browser follows the choice too.
    await german.select_option("#landing-language", "de")
    await german.goto(f"{conf_server.url}/r/sprachwahl")
    await expect(german.locator(tid("join-button"))).to_have_text("Beitreten")


async def test_prejoin_meeting_and_lobby_in_german(
    browser: Browser, conf_server: Any, contexts: list[BrowserContext]
) -> None:
    room = "sprache-de"
    host = await new_page(browser, "en-US", contexts, "host")
    await host.goto(f"{conf_server.url}/r/{room}?name=Ada&autojoin=1")
    await wait_joined(host)
    await expect(host.locator(tid("mic-button"))).to_contain_text("Mute")

    # The pre-join screen.
    guest = await new_page(browser, "de-DE", contexts, "guest")
    await guest.goto(f"{conf_server.url}/r/{room}")
    await expect(guest.locator(".eyebrow")).to_have_text("Bereit zum Beitreten?")
    await expect(guest.locator(tid("join-button"))).to_have_text("Beitreten")
    await expect(guest.locator(".companion-check")).to_contain_text("Besprechungsraum")
    await expect(guest.locator(tid("prejoin-mic-button"))).to_have_attribute(
        "aria-label", "Mikrofon stummschalten"
    )
    await screenshot(guest, "lang-de-prejoin")

    # The meeting.
    await guest.fill(tid("name-input"), "Bärbel Groß")
    await guest.click(tid("join-button"))
    await wait_joined(guest)
    await expect(guest.locator(tid("mic-button"))).to_contain_text("Stummschalten")
    await expect(guest.locator(tid("camera-button"))).to_contain_text("Kamera aus")
    await expect(guest.locator(tid("leave-button"))).to_contain_text("Verlassen")
    await expect(guest.locator(tid("participant-count"))).to_have_text("2 Teilnehmende")
    await expect(guest.locator(tid("raise-hand-button"))).to_contain_text(
        "Hand heben", timeout=SEEN
    )
    assert await guest.title() == f"{room} · Besprechung"
    await wait_until_fits(guest)
    await screenshot(guest, "lang-de-meeting")
    await guest.click(tid("participants-button"))
    await expect(guest.locator(tid("participants-panel"))).to_contain_text("Personen")
    await screenshot(guest, "lang-de-meeting-people")
    await guest.click(tid("participants-button"))
    await guest.click(tid("chat-button"))
    # Muted, the longest German label; with the chat open the bar is at its fullest.
    await guest.click(tid("mic-button"))
    await expect(guest.locator(tid("mic-button"))).to_have_attribute(
        "aria-label", "Stummschaltung aufheben"
    )
    await wait_until_fits(guest)
    await guest.fill(f"{tid('chat-panel')} textarea", "Guten Morgen!")
    await guest.keyboard.press("Enter")
    await expect(guest.locator(tid("chat-panel"))).to_contain_text("Guten Morgen!", timeout=SEEN)
    await wait_until_fits(guest)
    await screenshot(guest, "lang-de-meeting-chat")
    await guest.click(tid("mic-button"))

    host_tile = guest.locator(f'{tid("tile")}[data-name="Ada"]')
    own_name = guest.locator(f'{tid("tile")}[data-self="true"] .tile-name')
    await expect(host_tile.locator(".tile-role")).to_have_text("Moderation")
    await expect(own_name).to_have_text("Bärbel Groß (Sie)")

    # Switched in the meeting: the bar speaks English at once, and the choice is kept.
    await guest.select_option("#meeting-language", "en")
    await expect(guest.locator(tid("mic-button"))).to_contain_text("Mute")
    await expect(guest.locator(tid("participant-count"))).to_have_text("2 participants")
    await expect(guest.locator(tid("raise-hand-button"))).to_contain_text("Raise hand")
    assert await guest.evaluate("localStorage.getItem('conf-server.language')") == "en"
    # The tiles too, though nobody on them changed (they kept the old
    # language until then): role, "(you)", the pin buttons' labels.
    await expect(host_tile.locator(".tile-role")).to_have_text("Host", timeout=2000)
    await expect(own_name).to_have_text("Bärbel Groß (you)", timeout=2000)
    await expect(host_tile.locator(tid("pin-button"))).to_have_attribute(
        "aria-label", "Pin Ada (show large for you)", timeout=2000
    )
    await guest.select_option("#meeting-language", "de")
    await expect(guest.locator(tid("mic-button"))).to_contain_text("Stummschalten")
    await expect(host_tile.locator(".tile-role")).to_have_text("Moderation", timeout=2000)
    await expect(own_name).to_have_text("Bärbel Groß (Sie)", timeout=2000)
    await expect(
        guest.locator(f'{tid("tile")}[data-self="true"] {tid("pin-button")}')
    ).to_have_attribute("aria-label", "sich selbst anheften (für Sie groß anzeigen)", timeout=2000)

    # The lobby: a host turns it on; a German newcomer waits, in German.
    await host.evaluate("window.meeting.interaction.configureMeeting({lobby_enabled: true})")
    waiting = await new_page(browser, "de-DE", contexts, "waiting")
    await waiting.goto(f"{conf_server.url}/r/{room}?name=Jörg&autojoin=1")
    await expect(waiting.locator(tid("waiting-screen"))).to_be_visible(timeout=SEEN)
    await expect(waiting.locator("#waiting-title")).to_have_text(
        "Warten auf Einlass durch die Moderation"
    )
    await expect(waiting.locator(tid("waiting-leave-button"))).to_have_text("Verlassen")
    await screenshot(waiting, "lang-de-lobby")

    # A server error code in German: the meeting is locked.
    await host.evaluate("window.meeting.interaction.configureMeeting({lobby_enabled: false})")
    await host.evaluate("window.meeting.interaction.lockMeeting(true)")
    locked = await new_page(browser, "de-DE", contexts, "locked")
    await locked.goto(f"{conf_server.url}/r/{room}?name=Klaus&autojoin=1")
    await expect(locked.locator(tid("status"))).to_contain_text(
        "Die Besprechung ist gesperrt.", timeout=SEEN
    )
    await screenshot(locked, "lang-de-error")

    # A passcode asked for after a join from the link: the pre-join screen
    # shown then speaks German too, its button included ("Join" before).
    await host.evaluate("window.meeting.interaction.lockMeeting(false)")
    await host.evaluate("window.meeting.interaction.configureMeeting({passcode: '4711'})")
    asked = await new_page(browser, "de-DE", contexts, "asked")
    await asked.goto(f"{conf_server.url}/r/{room}?name=Lena&autojoin=1")
    await expect(asked.locator(tid("passcode-input"))).to_be_visible(timeout=SEEN)
    await expect(asked.locator(tid("join-button"))).to_have_text("Beitreten")
    await asked.fill(tid("passcode-input"), "4711")
    await asked.click(tid("join-button"))
    await wait_joined(asked)


async def test_admin_page_in_german_with_german_dates(
    server: RunningServer, settings: Settings, browser: Browser, contexts: list[BrowserContext]
) -> None:
    library = RecordingLibrary(settings.recordings_dir)
    # 2026-03-05 14:07 in the browser's time zone (the test's TZ, like Chromium's).
    started = time.mktime((2026, 3, 5, 14, 7, 0, 0, 0, -1))
    record = library.create(
        {"meeting_id": "m-de", "started_at": started, "room": "quartal", "title": "Quartalsbericht"}
    )
    directory = library.directory(record["id"])
    assert directory is not None
    (directory / "track-001-camera.webm").write_bytes(b"x" * 2048)
    record.update(state="ready", ended_at=started + 5400, duration=5400.0)
    library.save(record)

    page = await new_page(browser, "de-DE", contexts, "admin")
    await page.goto(f"{server.url}/admin")
    await expect(page.locator("h1")).to_have_text("Aufzeichnungen")
    await page.fill(tid("admin-key-input"), "kein-schluessel")
    await page.click(tid("admin-key-save-button"))
    await expect(page.locator(tid("admin-error"))).to_contain_text("nicht akzeptiert", timeout=SEEN)
    await page.fill(tid("admin-key-input"), ADMIN_KEY)
    await page.click(tid("admin-key-save-button"))
    row = page.locator(tid("recording-row"))
    await expect(row).to_have_count(1, timeout=SEEN)
    await expect(row).to_contain_text("Quartalsbericht")
    # German date and time: "05.03.2026, 14:07" (day first, 24-hour clock).
    await expect(row).to_contain_text("05.03.2026, 14:07")
    await expect(row).to_contain_text("Fertig")
    await screenshot(page, "lang-de-admin")
    # Switched on the page: the list is drawn again in English, with English dates.
    await page.select_option("#admin-language", "en")
    await expect(row).to_contain_text("Ready")
    await expect(page.locator("h1")).to_have_text("Recordings")
    await expect(row).to_contain_text("Mar 5, 2026")


async def test_source_modules_without_a_bundle_speak_german_too(
    browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    """Without a current bundle the pages load the source modules, which import
    the catalogs as JSON modules from /static/locales/, under the pages' CSP."""
    client_dir = copy_client(tmp_path / "web_client")  # no dist/: the sources are served
    app = web.Application()
    web_pages.add_client_routes(app, client_dir)

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = "; ".join(
            (*web_pages.CSP, "connect-src 'self'")
        )
        response.headers["X-Content-Type-Options"] = "nosniff"

    app.on_response_prepare.append(headers)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        page = await new_page(browser, "de-DE", contexts, "sources")
        catalogs: list[str] = []
        page.on(
            "response", lambda r: catalogs.append(r.url) if "/static/locales/" in r.url else None
        )
        await page.goto(str(server.make_url("/")))
        await expect(page.locator(tid("start-button"))).to_have_text("Besprechung starten")
        assert any(url.endswith("/static/locales/de.json") for url in catalogs), catalogs
    finally:
        await server.close()


NO_SIDEWAYS_SCROLL = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


async def test_german_pages_fit_a_phone(
    browser: Browser, conf_server: Any, contexts: list[BrowserContext]
) -> None:
    """The longer German words do not push a phone-sized page sideways."""
    context = await browser.new_context(
        locale="de-DE", permissions=["camera", "microphone"], viewport={"width": 390, "height": 844}
    )
    contexts.append(context)
    page = await context.new_page()
    await page.goto(f"{conf_server.url}/")
    await expect(page.locator(tid("start-button"))).to_have_text("Besprechung starten")
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, "lang-de-phone-landing")
    await page.goto(f"{conf_server.url}/r/handy-de")
    await expect(page.locator(tid("join-button"))).to_have_text("Beitreten")
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, "lang-de-phone-prejoin")
    await page.fill(tid("name-input"), "Bärbel")
    await page.click(tid("join-button"))
    await wait_joined(page)
    await page.wait_for_function(BAR_FITS, timeout=SEEN)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await screenshot(page, "lang-de-phone-meeting")
