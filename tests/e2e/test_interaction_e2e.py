"""Meeting interaction in real browsers: polls, raised hands, chat, host controls, lobby.

Every check reads what a person sees on the page (badges, panels, buttons,
messages); the host is whoever opens the room first.
"""

from __future__ import annotations

import pytest
from e2e_helpers import join, screenshot, tid, wait_joined, wait_until
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up


async def open_panel(page: Page, panel: str) -> None:
    """Open a side panel (``chat``, ``polls``, ``hands``, ``participants``) by its button."""
    if not await page.locator(tid(f"{panel}-panel")).is_visible():
        await page.click(tid(f"{panel}-button"))
    await expect(page.locator(tid(f"{panel}-panel"))).to_be_visible()


async def badges(page: Page) -> dict[str, str]:
    """The hand badge of each tile, by participant id."""
    result: dict[str, str] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="tile"]')]
              .map(t => [t.dataset.participantId, t.querySelector('[data-testid="hand-badge"]')])
              .filter(([, badge]) => badge)
              .map(([id, badge]) => [id, badge.textContent.trim()]))"""
    )
    return result


async def hand_items(page: Page) -> list[list[str]]:
    """The hands panel, top to bottom: [participant id, position shown]."""
    items = page.locator(f"{tid('hands-panel')} {tid('hand-item')}")
    result: list[list[str]] = await items.evaluate_all(
        "els => els.map(e => [e.dataset.participantId, e.dataset.position])"
    )
    return result


async def expect_hands(pages: list[Page], order: list[str]) -> None:
    """Every page shows this queue: badges 1, 2, … on the tiles and the same list."""
    want_badges = {pid: str(n) for n, pid in enumerate(order, start=1)}
    want_items = [[pid, str(n)] for n, pid in enumerate(order, start=1)]
    for page in pages:
        await open_panel(page, "hands")

        async def shown(page: Page = page) -> bool:
            return await badges(page) == want_badges and await hand_items(page) == want_items

        try:
            await wait_until(shown, timeout=SEEN / 1000)
        except AssertionError:
            seen = (await badges(page), await hand_items(page))
            raise AssertionError(f"want {want_badges} / {want_items}, page shows {seen}") from None
        # The numbers are visible, not only in attributes.
        texts = await page.locator(f"{tid('hands-panel')} .hand-position").all_inner_texts()
        assert texts == [str(n) for n in range(1, len(order) + 1)]


async def test_host_sees_the_votes_of_two_participants(open_page):
    host, _ = await join(open_page, "poll-room", "Host")
    ada, _ = await join(open_page, "poll-room", "Ada")
    bob, _ = await join(open_page, "poll-room", "Bob")
    await expect(host.locator(tid("tile"))).to_have_count(3, timeout=SEEN)

    await open_panel(host, "polls")
    await host.fill(tid("poll-question-input"), "Lunch?")
    options = host.locator(tid("poll-option-input"))
    await options.nth(0).fill("Pizza")
    await options.nth(1).fill("Sushi")
    await host.click(tid("poll-add-option-button"))
    await options.nth(2).fill("Salad")
    await host.click(tid("poll-create-button"))
    poll = host.locator(tid("poll"))
    await expect(poll).to_have_attribute("data-state", "draft")
    await poll.locator(tid("poll-launch-button")).click()
    await expect(poll).to_have_attribute("data-state", "open")
    poll_id = await poll.get_attribute("data-poll-id")

    # Participants do not see the drafts, only the open poll; they vote for different things.
    for page, choice in ((ada, "o1"), (bob, "o2")):
        await open_panel(page, "polls")
        theirs = page.locator(f'{tid("poll")}[data-poll-id="{poll_id}"]')
        await expect(theirs).to_have_attribute("data-state", "open", timeout=SEEN)
        await expect(theirs.locator(tid("poll-choice")).first).to_have_attribute("type", "radio")
        await theirs.locator(f'{tid("poll-choice")}[data-option-id="{choice}"]').check()
        await theirs.locator(tid("poll-vote-button")).click()
        await expect(theirs).to_contain_text("You can change your vote", timeout=SEEN)
        chosen = theirs.locator(f'{tid("poll-choice")}[data-option-id="{choice}"]')
        await expect(chosen).to_be_checked()
        # Results are not shared yet: participants see no counts.
        await expect(theirs.locator(tid("poll-result"))).to_have_count(0)

    votes = {
        "o1": host.locator(f'{tid("poll-result")}[data-option-id="o1"]'),
        "o2": host.locator(f'{tid("poll-result")}[data-option-id="o2"]'),
        "o3": host.locator(f'{tid("poll-result")}[data-option-id="o3"]'),
    }
    await expect(votes["o1"]).to_have_attribute("data-votes", "1", timeout=SEEN)
    await expect(votes["o2"]).to_have_attribute("data-votes", "1", timeout=SEEN)
    await expect(votes["o3"]).to_have_attribute("data-votes", "0")
    await expect(host.locator(tid("poll-voter-count"))).to_have_text("2")
    await expect(votes["o1"]).to_contain_text("50%")

    # Ada changes her mind: a named poll replaces her vote.
    theirs = ada.locator(tid("poll"))
    await theirs.locator(f'{tid("poll-choice")}[data-option-id="o2"]').check()
    await theirs.locator(tid("poll-vote-button")).click()
    await expect(votes["o1"]).to_have_attribute("data-votes", "0", timeout=SEEN)
    await expect(votes["o2"]).to_have_attribute("data-votes", "2", timeout=SEEN)
    await expect(host.locator(tid("poll-voter-count"))).to_have_text("2")

    # Closing and sharing shows everyone the final results.
    await poll.locator(tid("poll-close-button")).click()
    await poll.locator(tid("poll-share-button")).click()
    bob_result = bob.locator(f'{tid("poll-result")}[data-option-id="o2"]')
    await expect(bob_result).to_have_attribute("data-votes", "2", timeout=SEEN)
    await expect(bob.locator(tid("poll"))).to_have_attribute("data-state", "closed")
    await screenshot(host, "poll-host-results")

    # Export: a real file download with the poll in it.
    async with host.expect_download() as download_info:
        await host.click(tid("poll-export-csv-button"))
    download = await download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = (await download.path()).read_text(encoding="utf-8")
    assert "Lunch?" in content and "Sushi" in content

    # An anonymous poll takes one vote and says so.
    await host.fill(tid("poll-question-input"), "Happy?")
    await options.nth(0).fill("Yes")
    await options.nth(1).fill("No")
    await host.select_option(tid("poll-kind-select"), "multiple")
    await host.check(tid("poll-anonymous-checkbox"))
    await host.click(tid("poll-create-button"))
    draft = host.locator(f'{tid("poll")}[data-state="draft"]')
    await draft.locator(tid("poll-launch-button")).click()
    anonymous = bob.locator(f'{tid("poll")}[data-state="open"]')
    await expect(anonymous).to_contain_text("your vote cannot be changed", timeout=SEEN)
    await expect(anonymous.locator(tid("poll-choice")).first).to_have_attribute("type", "checkbox")
    await anonymous.locator(tid("poll-choice")).nth(0).check()
    await anonymous.locator(tid("poll-choice")).nth(1).check()
    await anonymous.locator(tid("poll-vote-button")).click()
    await expect(anonymous).to_contain_text("Your vote cannot be changed", timeout=SEEN)
    await expect(anonymous.locator(tid("poll-vote-button"))).to_have_count(0)
    await expect(anonymous.locator(tid("poll-choice")).first).to_be_disabled()
    host_view = host.locator(f'{tid("poll")}[data-state="open"]')
    await expect(host_view.locator(tid("poll-voter-count"))).to_have_text("1", timeout=SEEN)


async def test_raised_hands_show_the_same_order_on_every_page(open_page):
    host, host_id = await join(open_page, "hands-room", "Host")
    ada, ada_id = await join(open_page, "hands-room", "Ada")
    bob, bob_id = await join(open_page, "hands-room", "Bob")
    pages = [host, ada, bob]
    for page in pages:
        await expect(page.locator(tid("tile"))).to_have_count(3, timeout=SEEN)

    # Bob first, then the host, then Ada.
    for page in (bob, host, ada):
        await page.click(tid("raise-hand-button"))
        await expect(page.locator(tid("raise-hand-button"))).to_have_attribute(
            "aria-pressed", "true"
        )
    await expect_hands(pages, [bob_id, host_id, ada_id])
    # Participants may lower only their own hand; they get no host buttons.
    await expect(ada.locator(tid("next-hand-button"))).to_be_hidden()
    await expect(ada.locator(tid("lower-all-hands-button"))).to_be_hidden()
    await expect(ada.locator(tid("lower-hand-button"))).to_have_count(1)
    await screenshot(ada, "hands-queue")

    # The host lowers their own hand from the bar: Ada moves up.
    await host.click(tid("raise-hand-button"))
    await expect(host.locator(tid("raise-hand-button"))).to_have_attribute("aria-pressed", "false")
    await expect_hands(pages, [bob_id, ada_id])

    # Raising again goes to the back of the line.
    await host.click(tid("raise-hand-button"))
    await expect_hands(pages, [bob_id, ada_id, host_id])

    # "Call on next" lowers Bob's hand and tells everyone.
    await host.click(tid("next-hand-button"))
    await expect_hands(pages, [ada_id, host_id])
    await expect(bob.locator(tid("status"))).to_contain_text("Bob, you're up", timeout=SEEN)
    await expect(ada.locator(tid("status"))).to_contain_text("called on Bob", timeout=SEEN)
    await expect(bob.locator(tid("raise-hand-button"))).to_have_attribute("aria-pressed", "false")

    # The host lowers Ada's hand from the panel.
    item = host.locator(f'{tid("hand-item")}[data-participant-id="{ada_id}"]')
    await item.locator(tid("lower-hand-button")).click()
    await expect_hands(pages, [host_id])
    await host.click(tid("lower-all-hands-button"))
    await expect_hands(pages, [])


async def test_late_joiner_sees_the_chat_history(open_page):
    ada, ada_id = await join(open_page, "chat-room", "Ada")
    bob, _ = await join(open_page, "chat-room", "Bob")
    await open_panel(ada, "chat")
    await ada.fill(tid("chat-input"), "Hello everyone")
    await ada.press(tid("chat-input"), "Enter")
    await ada.fill(tid("chat-input"), "Agenda:")
    await ada.press(tid("chat-input"), "Shift+Enter")
    await ada.type(tid("chat-input"), "1. demo")
    await ada.click(tid("chat-send-button"))
    await expect(ada.locator(tid("chat-message"))).to_have_count(2, timeout=SEEN)
    await expect(ada.locator(tid("chat-input"))).to_have_value("")

    # Bob has the panel closed: an unread count on the chat button.
    await expect(bob.locator(f"{tid('chat-button')} .control-badge")).to_have_text(
        "2", timeout=SEEN
    )
    await open_panel(bob, "chat")
    await expect(bob.locator(f"{tid('chat-button')} .control-badge")).to_be_hidden()

    carol, _ = await join(open_page, "chat-room", "Carol")
    await open_panel(carol, "chat")
    messages = carol.locator(tid("chat-message"))
    await expect(messages).to_have_count(2, timeout=SEEN)
    await expect(messages.nth(0)).to_contain_text("Hello everyone")
    await expect(messages.nth(1)).to_contain_text("Agenda:\n1. demo")
    await expect(messages.nth(0)).to_have_attribute("data-sender-id", ada_id)
    await expect(messages.nth(0)).to_contain_text("Ada")


async def test_chat_rate_limit_is_explained(open_page):
    ada, _ = await join(open_page, "chatty", "Ada")
    await open_panel(ada, "chat")
    for n in range(8):
        await ada.fill(tid("chat-input"), f"message {n}")
        await ada.press(tid("chat-input"), "Enter")
        if await ada.locator(tid("chat-error")).is_visible():
            break
    error = ada.locator(tid("chat-error"))
    await expect(error).to_be_visible(timeout=SEEN)
    await expect(error).to_contain_text("Try again in")
    # The refused text stays in the box to send later.
    assert (await ada.locator(tid("chat-input")).input_value()).startswith("message ")


WATCH_BURSTS = """() => {
  window.__bursts = [];
  const seen = new Map();
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof Element) || node.dataset.testid !== "reaction-burst") continue;
        const entry = {
          participant: node.closest('[data-testid="tile"]')?.dataset.participantId ?? null,
          emoji: node.dataset.emoji,
          label: node.getAttribute("aria-label"),
          removed: false,
        };
        seen.set(node, entry);
        window.__bursts.push(entry);
      }
      for (const node of record.removedNodes) {
        if (seen.has(node)) seen.get(node).removed = true;
      }
    }
  }).observe(document.body, { subtree: true, childList: true });
}"""


async def test_reaction_bursts_on_the_senders_tile(open_page):
    ada, ada_id = await join(open_page, "react-room", "Ada")
    bob, _ = await join(open_page, "react-room", "Bob")
    await ada.click(tid("reactions-button"))
    options = ada.locator(tid("reaction-option"))
    await expect(options).to_have_count(9)
    # The burst shows for 2.5 s. A loaded machine can stall the page longer
    # than that between two polls, so Bob's page writes down every burst that
    # comes and goes instead of the test hoping to look at the right moment.
    await bob.evaluate(WATCH_BURSTS)
    await ada.click(f'{tid("reaction-option")}[data-emoji="🎉"]')

    async def shown_and_gone() -> bool:
        seen: list[dict[str, object]] = await bob.evaluate("window.__bursts")
        return any(b["removed"] for b in seen)

    await wait_until(shown_and_gone, timeout=SEEN / 1000)
    bursts = await bob.evaluate("window.__bursts")
    assert [(b["participant"], b["emoji"]) for b in bursts] == [(ada_id, "🎉")]
    assert "Ada" in bursts[0]["label"]  # a screen reader hears who reacted
    burst = bob.locator(f'{tid("tile")}[data-participant-id="{ada_id}"] {tid("reaction-burst")}')
    await expect(burst).to_have_count(0)  # gone after a few seconds


async def test_host_mutes_and_locks_a_participant(open_page):
    host, _ = await join(open_page, "mute-room", "Host")
    ada, ada_id = await join(open_page, "mute-room", "Ada")
    await expect(ada.locator(tid("mic-button"))).to_have_attribute("data-muted", "false")
    await expect(ada.locator(tid("meeting-menu-button"))).to_be_hidden()

    await open_panel(host, "participants")
    row = host.locator(f'{tid("participant-row")}[data-participant-id="{ada_id}"]')
    await expect(row).to_have_attribute("data-role", "participant")
    await expect(host.locator(tid("participant-row")).first).to_have_attribute("data-role", "host")
    await row.locator(tid("mute-lock-participant-button")).click()

    mic = ada.locator(tid("mic-button"))
    await expect(mic).to_have_attribute("data-muted", "true", timeout=SEEN)
    await expect(mic).to_have_attribute("data-locked", "true")
    await expect(ada.locator(tid("status"))).to_contain_text("Host muted you", timeout=SEEN)
    await expect(ada.locator(tid("status"))).to_contain_text("microphone is locked")
    await expect(host.locator(f'{tid("tile")}[data-participant-id="{ada_id}"]')).to_have_attribute(
        "data-audio-muted", "true", timeout=SEEN
    )

    # Ada cannot unmute herself.
    await mic.click()
    await expect(ada.locator(tid("status"))).to_contain_text("locked your microphone", timeout=SEEN)
    await expect(mic).to_have_attribute("data-muted", "true")
    await screenshot(ada, "mic-locked")

    # Unlocked: she may unmute again.
    await row.locator(tid("unlock-mic-button")).click()
    await expect(mic).to_have_attribute("data-locked", "false", timeout=SEEN)
    await mic.click()
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)
    await expect(host.locator(f'{tid("tile")}[data-participant-id="{ada_id}"]')).to_have_attribute(
        "data-audio-muted", "false", timeout=SEEN
    )

    # The host stops her camera and her screen share; she may turn the camera on again.
    await row.locator(tid("stop-camera-button")).click()
    await expect(ada.locator(tid("camera-button"))).to_have_attribute(
        "data-enabled", "false", timeout=SEEN
    )
    await expect(ada.locator(tid("status"))).to_contain_text("turned your camera off")
    await ada.click(tid("screen-button"))
    await expect(ada.locator(tid("screen-button"))).to_have_attribute(
        "data-sharing", "true", timeout=SEEN
    )
    await row.locator(tid("stop-screen-button")).click(timeout=SEEN)
    await expect(ada.locator(tid("screen-button"))).to_have_attribute(
        "data-sharing", "false", timeout=SEEN
    )
    await expect(ada.locator(tid("status"))).to_contain_text("stopped your screen share")
    await ada.click(tid("camera-button"))
    await expect(ada.locator(tid("camera-button"))).to_have_attribute(
        "data-enabled", "true", timeout=SEEN
    )

    # Made co-host, Ada gets the host tools at once (meeting_state), everyone sees her role.
    await row.locator(tid("make-cohost-button")).click()
    await expect(ada.locator(tid("meeting-menu-button"))).to_be_visible(timeout=SEEN)
    await expect(row).to_have_attribute("data-role", "co_host", timeout=SEEN)
    await expect(host.locator(f'{tid("tile")}[data-participant-id="{ada_id}"]')).to_have_attribute(
        "data-role", "co_host"
    )
    await open_panel(ada, "polls")
    await expect(ada.locator(tid("poll-question-input"))).to_be_visible()
    # A co-host may not act on a host: no buttons on the host's row.
    await open_panel(ada, "participants")
    host_row = ada.locator(f'{tid("participant-row")}[data-role="host"]')
    await expect(host_row.locator("button")).to_have_count(0)
    await row.locator(tid("remove-cohost-button")).click()
    await expect(ada.locator(tid("meeting-menu-button"))).to_be_hidden(timeout=SEEN)


async def test_host_admits_a_person_from_the_lobby(open_page):
    host, _ = await join(open_page, "lobby-room", "Host")
    await host.click(tid("meeting-menu-button"))
    menu = host.locator(tid("meeting-menu"))
    await expect(menu).to_be_visible()
    await menu.locator(tid("lobby-toggle")).check()
    await expect(menu.locator(tid("lobby-toggle"))).to_be_checked()
    await host.keyboard.press("Escape")

    guest = await open_page("lobby-room", "Guest")
    await expect(guest.locator("body")).to_have_attribute("data-state", "waiting", timeout=SEEN)
    waiting = guest.locator(tid("waiting-screen"))
    await expect(waiting).to_be_visible()
    await expect(waiting).to_contain_text("Waiting for the host to let you in")

    lobby = host.locator(tid("lobby-panel"))
    await expect(lobby).to_be_visible(timeout=SEEN)
    entry = lobby.locator(tid("lobby-entry"))
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("Guest")
    await screenshot(host, "lobby-host")
    await entry.locator(tid("admit-button")).click()

    await wait_joined(guest)
    await expect(waiting).to_be_hidden()
    for page in (host, guest):
        await expect(page.locator(tid("tile"))).to_have_count(2, timeout=SEEN)
    await expect(lobby).to_be_hidden()

    # Someone turned away sees why, and is not let in.
    late = await open_page("lobby-room", "Late")
    await expect(late.locator(tid("waiting-screen"))).to_be_visible(timeout=SEEN)
    await lobby.locator(tid("deny-button")).click()
    await expect(late.locator("body")).to_have_attribute("data-state", "failed", timeout=SEEN)
    await expect(late.locator(tid("waiting-screen"))).to_be_hidden()
    await expect(late.locator(tid("status"))).not_to_be_empty()
    await expect(host.locator(tid("tile"))).to_have_count(2)

    # A locked meeting refuses newcomers with a clear message and no retry loop.
    await host.click(tid("meeting-menu-button"))
    await host.locator(tid("lock-meeting-toggle")).check()
    await expect(host.locator(tid("meeting-menu-status"))).to_contain_text("locked", timeout=SEEN)
    await late.click(tid("rejoin-button"))
    await expect(late.locator(tid("status"))).to_contain_text("locked", timeout=SEEN)
    await expect(late.locator("body")).to_have_attribute("data-state", "failed")


async def test_removed_and_ended_pages_do_not_reconnect(open_page):
    host, _ = await join(open_page, "end-room", "Host")
    ada, ada_id = await join(open_page, "end-room", "Ada")
    bob, _ = await join(open_page, "end-room", "Bob")

    await open_panel(host, "participants")
    row = host.locator(f'{tid("participant-row")}[data-participant-id="{ada_id}"]')
    await row.locator(tid("remove-participant-button")).click()
    await host.click(tid("confirm-button"))
    await expect(ada.locator("body")).to_have_attribute("data-state", "removed", timeout=SEEN)
    await expect(ada.locator(tid("end-screen"))).to_contain_text("removed")
    await expect(ada.locator(tid("home-button"))).to_be_visible()
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)

    await host.click(tid("meeting-menu-button"))
    await host.click(tid("end-meeting-button"))
    await host.click(tid("confirm-button"))
    for page in (host, bob):
        await expect(page.locator("body")).to_have_attribute("data-state", "ended", timeout=SEEN)
    await expect(bob.locator(tid("end-screen"))).to_contain_text("ended")
    await bob.wait_for_timeout(2000)
    assert await bob.evaluate("document.body.dataset.state") == "ended"  # no reconnect loop
    assert await ada.evaluate("document.body.dataset.state") == "removed"


async def test_passcode_is_asked_for_and_retried(open_page):
    host, _ = await join(open_page, "secret-room", "Host")
    await host.click(tid("meeting-menu-button"))
    await host.fill(tid("passcode-setting-input"), "4711")
    await host.click(tid("passcode-save-button"))
    await expect(host.locator(tid("current-passcode"))).to_contain_text("4711", timeout=SEEN)

    guest = await open_page("secret-room", "Guest", passcode="0000")
    field = guest.locator(tid("passcode-input"))
    await expect(field).to_be_visible(timeout=SEEN)
    await expect(field).to_have_value("0000")
    await expect(guest.locator(".prejoin-hint")).to_contain_text("not right")
    # Joining from the link, the screen's pickers and panel were not built: now they are.
    prejoin = guest.locator("#prejoin")
    await expect(prejoin.locator(tid("camera-select"))).to_be_visible()
    await expect(prejoin.locator(tid("connectivity-check-button"))).to_be_visible()
    await expect(guest.locator("#prejoin-language")).to_be_visible()
    await field.fill("4711")
    await guest.click(tid("join-button"))
    await wait_joined(guest)
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)


async def test_start_a_meeting_makes_you_its_host(browser, conf_server):
    context = await browser.new_context(permissions=["camera", "microphone"])
    page = await context.new_page()
    await page.goto(f"{conf_server.url}/")
    await page.fill(tid("start-name-input"), "Ada")
    await page.click(tid("start-button"))
    await page.wait_for_url("**/r/**")
    assert "name=Ada" in page.url
    assert "host_key" not in page.url  # kept for the tab, not shown in the address bar
    await page.click(tid("join-button"))
    await wait_joined(page)
    await expect(page.locator(tid("meeting-menu-button"))).to_be_visible()
    await expect(page.locator(tid("tile"))).to_have_attribute("data-role", "host")

    # A reload of the tab keeps the host role (the key is in sessionStorage).
    await page.reload()
    await page.click(tid("join-button"))
    await wait_joined(page)
    await page.click(tid("meeting-menu-button"))
    await page.click(tid("copy-host-link-button"))
    link = await page.locator(tid("host-link-output")).input_value()
    assert "/r/" in link and "host_key=" in link

    # Whoever opens the host link is host too.
    other = await browser.new_context(permissions=["camera", "microphone"])
    second = await other.new_page()
    await second.goto(f"{link}&name=Grace&autojoin=1")
    await wait_joined(second)
    await expect(second.locator(tid("meeting-menu-button"))).to_be_visible()
    await other.close()
    await context.close()


async def test_start_a_meeting_falls_back_to_a_room_link(browser, conf_server):
    context = await browser.new_context(permissions=["camera", "microphone"])
    page = await context.new_page()
    await page.route("**/api/v1/meetings", lambda route: route.fulfill(status=500, body="{}"))
    await page.goto(f"{conf_server.url}/")
    await page.fill(tid("start-name-input"), "Ada")
    await page.click(tid("start-button"))
    await expect(page.locator("#start-form .form-error")).to_contain_text(
        "Could not create the meeting"
    )
    await page.wait_for_url("**/r/**", timeout=SEEN)
    assert "name=Ada" in page.url
    await context.close()
