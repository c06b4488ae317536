"""Questionnaires in real browsers: the host builds one in the polls panel
(one choice, a rating, a short text) and launches it; a participant answers
the whole form, then changes an answer; the host's live results follow each
send; after the host closes it, the form is locked for the participant."""

from __future__ import annotations

import pytest
from e2e_helpers import join, screenshot, tid
from playwright.async_api import Page, expect

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up


async def open_polls(page: Page) -> None:
    if not await page.locator(tid("polls-panel")).is_visible():
        await page.click(tid("polls-button"))
    await expect(page.locator(tid("polls-panel"))).to_be_visible()


async def add_question(host: Page, index: int, kind: str, prompt: str, options: str = "") -> None:
    if index > 0:
        await host.click(tid("questionnaire-add-question-button"))
    row = host.locator(tid("questionnaire-form-question")).nth(index)
    await row.locator(tid("questionnaire-kind-select")).select_option(kind)
    await row.locator(tid("questionnaire-prompt-input")).fill(prompt)
    if options:
        await row.locator(tid("questionnaire-options-input")).fill(options)


async def test_host_launches_participant_answers_and_edits_host_sees_results(open_page):
    host, _ = await join(open_page, "survey-room", "Hana")
    guest, _ = await join(open_page, "survey-room", "Gus")
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)

    await open_polls(host)
    await host.fill(tid("questionnaire-title-input"), "Team pulse")
    await add_question(host, 0, "single", "Best day?", "Monday\nFriday")
    await add_question(host, 1, "rating", "How was the week?")
    await add_question(host, 2, "text", "One word?")
    await host.click(tid("questionnaire-create-button"))
    card = host.locator(tid("questionnaire"))
    await expect(card).to_have_count(1, timeout=SEEN)
    await expect(card).to_have_attribute("data-state", "draft")
    await card.locator(tid("questionnaire-launch-button")).click()
    await expect(card).to_have_attribute("data-state", "open", timeout=SEEN)

    # The participant sees one form with every question and answers it.
    await open_polls(guest)
    form = guest.locator(tid("questionnaire-answer-form"))
    await expect(form).to_be_visible(timeout=SEEN)
    await expect(guest.locator(tid("questionnaire-create-button"))).to_be_hidden()
    await form.get_by_label("Friday").check()
    await form.get_by_label("Rating 4").check()
    await form.locator(tid("questionnaire-text-input")).fill("Calm")
    await guest.click(tid("questionnaire-submit-button"))
    await expect(guest.locator(tid("questionnaire-note"))).to_contain_text("change", timeout=SEEN)
    await expect(guest.locator(tid("questionnaire-results"))).to_have_count(0)

    results = host.locator(tid("questionnaire-results"))
    await expect(results).to_contain_text("Gus: Calm", timeout=SEEN)
    await expect(results.locator(tid("questionnaire-mean"))).to_contain_text("4")

    # Editing: the form comes back filled in; a changed answer replaces the old.
    await expect(guest.locator(tid("questionnaire-submit-button"))).to_have_text("Update answers")
    await expect(form.locator(tid("questionnaire-text-input"))).to_have_value("Calm")
    await form.get_by_label("Monday").check()
    await form.get_by_label("Rating 2").check()
    await form.locator(tid("questionnaire-text-input")).fill("Busy")
    await guest.click(tid("questionnaire-submit-button"))
    await expect(results).to_contain_text("Gus: Busy", timeout=SEEN)
    await expect(results).not_to_contain_text("Calm")
    await expect(results.locator(tid("questionnaire-mean"))).to_contain_text("2")
    day = results.locator("[data-question-id='q1']").locator(tid("questionnaire-result-row"))
    await expect(day.nth(0)).to_have_attribute("data-count", "1")
    await expect(day.nth(1)).to_have_attribute("data-count", "0")
    await results.scroll_into_view_if_needed()
    shot = await screenshot(host, "questionnaire-host-results")
    print(f"host screenshot: {shot}")
    print(f"guest screenshot: {await screenshot(guest, 'questionnaire-guest-form')}")

    # Closed: the participant's form is locked; shared results reach them.
    await card.locator(tid("questionnaire-close-button")).click()
    await expect(guest.locator(tid("questionnaire-submit-button"))).to_have_count(0, timeout=SEEN)
    await expect(form.get_by_label("Monday")).to_be_disabled()
    await expect(form.locator(tid("questionnaire-text-input"))).to_be_disabled()
    await card.locator(tid("questionnaire-share-button")).click()
    shared = guest.locator(tid("questionnaire-results"))
    await expect(shared).to_contain_text("Busy", timeout=SEEN)
    await expect(shared).not_to_contain_text("Gus:")  # names only for hosts


async def test_an_anonymous_answer_is_edited_with_the_handle_kept_in_the_tab(open_page):
    host, _ = await join(open_page, "secret-survey", "Hana")
    guest, _ = await join(open_page, "secret-survey", "Gus")
    await expect(host.locator(tid("tile"))).to_have_count(2, timeout=SEEN)
    await open_polls(host)
    await host.fill(tid("questionnaire-title-input"), "Honest pulse")
    await host.check(tid("questionnaire-anonymous-checkbox"))
    await add_question(host, 0, "rating", "How was the week?")
    await add_question(host, 1, "text", "Anything else?")
    await host.click(tid("questionnaire-create-button"))
    card = host.locator(tid("questionnaire"))
    await card.locator(tid("questionnaire-launch-button")).click()

    await open_polls(guest)
    form = guest.locator(tid("questionnaire-answer-form"))
    await form.get_by_label("Rating 5").check()
    await form.locator(tid("questionnaire-text-input")).fill("All good")
    await guest.click(tid("questionnaire-submit-button"))
    results = host.locator(tid("questionnaire-results"))
    await expect(results.locator(tid("questionnaire-mean"))).to_contain_text("5", timeout=SEEN)
    # The server does not know what Gus answered: the form shows what this tab
    # sent, and the tab holds the answer handle that lets Gus change it.
    await expect(form.locator(tid("questionnaire-text-input"))).to_have_value("All good")
    await expect(guest.locator(tid("questionnaire-note"))).to_contain_text(
        "Anonymous", timeout=SEEN
    )
    handles = await guest.evaluate(
        "Object.keys(sessionStorage).filter(k => k.startsWith('questionnaire-handle'))"
    )
    assert len(handles) == 1, handles
    await form.get_by_label("Rating 1").check()
    await form.locator(tid("questionnaire-text-input")).fill("Too busy")
    await guest.click(tid("questionnaire-submit-button"))
    await expect(results.locator(tid("questionnaire-mean"))).to_contain_text("1", timeout=SEEN)
    await expect(results).to_contain_text("Too busy")
    await expect(results).not_to_contain_text("All good")
    await expect(results).not_to_contain_text("Gus")  # anonymous: no names, even for hosts
    await expect(guest.locator(tid("questionnaire-error"))).to_be_empty()
