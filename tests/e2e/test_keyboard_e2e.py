"""Keyboard use of the meeting page (issue 19, point 3) in real Chromium.

Shortcuts (web_client/js/ui/shortcuts.js): M microphone, V camera, H hand,
C chat, Shift+L leave, ? the list of shortcuts. They never fire while typing
in a text field, and every control is reached with Tab and shows a visible
focus ring.
"""

from __future__ import annotations

import pytest
from e2e_helpers import join, tid
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up


async def ready(page: Page) -> None:
    """Joined, the lazily loaded buttons (hand, chat) are there, nothing has the focus."""
    await expect(page.locator(tid("raise-hand-button"))).to_be_visible(timeout=SEEN)
    await expect(page.locator(tid("chat-button"))).to_be_visible()
    await page.evaluate("document.activeElement && document.activeElement.blur()")


async def focused_testid(page: Page) -> str | None:
    result: str | None = await page.evaluate(
        "document.activeElement && document.activeElement.dataset.testid || null"
    )
    return result


async def test_shortcuts_toggle_mic_camera_hand_chat_and_show_their_list(open_page):
    ada, ada_id = await join(open_page, "keys-room", "Ada")
    await ready(ada)
    mic, camera = ada.locator(tid("mic-button")), ada.locator(tid("camera-button"))
    raise_hand = ada.locator(tid("raise-hand-button"))
    await expect(mic).to_have_attribute("aria-keyshortcuts", "M")
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)
    await expect(camera).to_have_attribute("data-enabled", "true", timeout=SEEN)

    await ada.keyboard.press("m")
    await expect(mic).to_have_attribute("data-muted", "true", timeout=SEEN)
    # Screen readers hear the new state.
    await expect(ada.locator(tid("shortcut-announcer"))).to_have_text("Microphone off")
    await ada.keyboard.press("m")
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)

    await ada.keyboard.press("v")
    await expect(camera).to_have_attribute("data-enabled", "false", timeout=SEEN)
    await ada.keyboard.press("v")
    await expect(camera).to_have_attribute("data-enabled", "true", timeout=SEEN)

    await ada.keyboard.press("h")
    await expect(raise_hand).to_have_attribute("aria-pressed", "true", timeout=SEEN)
    badge = ada.locator(f'{tid("tile")}[data-participant-id="{ada_id}"] {tid("hand-badge")}')
    await expect(badge).to_have_text("1", timeout=SEEN)
    await ada.keyboard.press("h")
    await expect(raise_hand).to_have_attribute("aria-pressed", "false", timeout=SEEN)

    await ada.keyboard.press("c")
    await expect(ada.locator(tid("chat-panel"))).to_be_visible()
    await ada.keyboard.press("Escape")  # the side panel's own key
    await expect(ada.locator(tid("chat-panel"))).to_be_hidden()

    # ? lists the shortcuts in a modal dialog; Escape closes it, the focus goes back.
    await mic.focus()
    await ada.keyboard.press("?")
    dialog = ada.locator(tid("shortcuts-dialog"))
    await expect(dialog).to_be_visible()
    await expect(dialog).to_have_attribute("aria-modal", "true")
    await expect(dialog.get_by_role("heading")).to_have_text("Keyboard shortcuts")
    assert await dialog.locator("kbd").all_inner_texts() == ["M", "V", "H", "C", "Shift+L", "?"]
    assert await focused_testid(ada) == "shortcuts-close-button"
    # Modal: M does nothing while it is open.
    await ada.keyboard.press("m")
    await ada.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert await focused_testid(ada) == "mic-button"
    await expect(mic).to_have_attribute("data-muted", "false")

    # The control bar's button opens it too; its close button closes it.
    await ada.click(tid("shortcuts-button"))
    await expect(dialog).to_be_visible()
    await ada.click(tid("shortcuts-close-button"))
    await expect(dialog).to_be_hidden()
    assert await focused_testid(ada) == "shortcuts-button"


async def test_typing_in_the_chat_triggers_no_shortcut(open_page):
    ada, _ = await join(open_page, "typing-room", "Ada")
    await ready(ada)
    mic = ada.locator(tid("mic-button"))
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)
    await ada.keyboard.press("c")  # opens the chat, the focus goes to its input
    chat_input = ada.locator(tid("chat-input"))
    await expect(chat_input).to_be_focused()
    await ada.keyboard.type("mvh?cM")
    await expect(chat_input).to_have_value("mvh?cM")
    await ada.keyboard.press("Enter")
    await expect(ada.locator(tid("chat-message"))).to_contain_text("mvh?cM", timeout=SEEN)
    await expect(mic).to_have_attribute("data-muted", "false")
    await expect(ada.locator(tid("camera-button"))).to_have_attribute("data-enabled", "true")
    await expect(ada.locator(tid("raise-hand-button"))).to_have_attribute("aria-pressed", "false")
    await expect(ada.locator(tid("shortcuts-dialog"))).to_be_hidden()
    await expect(ada.locator(tid("chat-panel"))).to_be_visible()


async def test_tab_reaches_the_mic_button_which_shows_its_focus_and_works(open_page):
    ada, _ = await join(open_page, "tab-room", "Ada")
    await ready(ada)
    mic = ada.locator(tid("mic-button"))
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)
    for _ in range(40):
        await ada.keyboard.press("Tab")
        if await focused_testid(ada) == "mic-button":
            break
    else:
        raise AssertionError("Tab never reached the microphone button")
    focus = await mic.evaluate(
        """el => ({visible: el.matches(':focus-visible'),
                   style: getComputedStyle(el).outlineStyle,
                   width: parseFloat(getComputedStyle(el).outlineWidth)})"""
    )
    assert focus["visible"], focus
    assert focus["style"] != "none" and focus["width"] >= 2, focus

    await ada.keyboard.press("Enter")
    await expect(mic).to_have_attribute("data-muted", "true", timeout=SEEN)
    await ada.keyboard.press("Space")
    await expect(mic).to_have_attribute("data-muted", "false", timeout=SEEN)
    assert await focused_testid(ada) == "mic-button"

    # Every control of the bar is a real button, reached with Tab.
    names = await ada.locator(".controls button:not([hidden])").evaluate_all(
        "els => els.map(e => e.dataset.testid)"
    )
    reached = set()
    for _ in range(len(names) + 5):
        await ada.keyboard.press("Tab")
        reached.add(await focused_testid(ada))
    reached.add("mic-button")
    # Tab goes on from the mic button: everything after it in the bar comes up
    # (the screen button when this browser can share).
    after = names[names.index("mic-button") :]
    assert set(after) <= reached, (after, reached)


async def test_shift_l_leaves_the_meeting(open_page):
    ada, _ = await join(open_page, "leave-room", "Ada")
    await ready(ada)
    await ada.keyboard.press("l")  # a plain L does nothing
    await ada.wait_for_timeout(300)
    assert await ada.evaluate("document.body.dataset.state") == "joined"
    await ada.keyboard.press("Shift+L")
    await expect(ada.locator("body")).to_have_attribute("data-state", "left", timeout=SEEN)
