"""Transcripts in real Chromium. The admin page: a recording's transcript
state and progress (refreshed by itself while it is made), then the
transcript with its speakers' names, and the search box that keeps only the
matching lines and marks the matches; a name full of markup stays text. The
meeting menu's "Recordings of this meeting": the transcript's state and its
signed links.

The recording and its transcript.json are made on disk after the server
started, as test_admin_e2e.py does (no media, no speech engine)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ServerProcess, screenshot, tid, wait_joined
from playwright.async_api import Browser, Page, expect
from running_server import RunningServer
from server_keys import ADMIN_KEY

from conf_server import Settings
from recording.library import RecordingLibrary
from recording.transcript_worker import initial_status

pytestmark = pytest.mark.e2e

SEEN = 5_000  # ms
PENDING = initial_status(True, "pocketsphinx", "en-US")
HOSTILE = '<img src=x onerror="window.pwned=1">Eve'
SEGMENTS = [
    ("p_1", "Ada Lovelace", 1.2, 3.0, "good morning everyone and welcome to the budget review"),
    ("p_2", "Bob", 4.0, 6.5, "thanks Ada the budget for next quarter is ready"),
    ("p_1", "Ada Lovelace", 7.0, 9.0, "let us start with travel costs"),
    ("p_3", HOSTILE, 9.5, 11.0, "I have a question about hiring"),
    ("p_2", "Bob", 65.0, 68.0, "hiring is in the second part of the budget"),
]


def transcript_document(recording_id: str) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "engine": "pocketsphinx",
        "language": "en-US",
        "segments": [
            {
                "speaker_id": pid,
                "speaker_name": name,
                "start": start,
                "end": end,
                "text": text,
                "confidence": 0.8,
                "words": [],
            }
            for pid, name, start, end, text in SEGMENTS
        ],
    }


def row(page: Page, recording_id: str) -> Any:
    return page.locator(f'{tid("recording-row")}[data-recording-id="{recording_id}"]')


async def test_admin_sees_the_transcript_with_names_and_searches_it(
    server: RunningServer, settings: Settings, browser: Browser
) -> None:
    library = RecordingLibrary(settings.recordings_dir)
    record = library.create(
        {
            "meeting_id": "m-budget",
            "room": "budget",
            "title": "Budget review",
            "started_at": time.time() - 600,
            "transcript": {
                **initial_status(True, "pocketsphinx", "en-US"),
                "state": "transcribing",
            },
        }
    )
    record.update(
        state="ready",
        ended_at=record["started_at"] + 70,
        duration=70.0,
        participants=[
            {"id": "p_1", "name": "Ada Lovelace"},
            {"id": "p_2", "name": "Bob"},
            {"id": "p_3", "name": HOSTILE},
        ],
    )
    record["transcript"]["progress"] = 0.3
    library.save(record)

    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    page.on("console", lambda m: print(f"[admin] {m.type}: {m.text}"))
    await page.goto(f"{server.url}/admin")
    await page.fill(tid("admin-key-input"), ADMIN_KEY)
    await page.click(tid("admin-key-save-button"))
    card = row(page, record["id"])
    await expect(card).to_have_count(1, timeout=SEEN)

    # Being made: its state and progress, refreshed by itself.
    state = card.locator(tid("transcript-state"))
    await expect(state).to_have_attribute("data-state", "transcribing")
    progress = card.locator(tid("transcript-progress"))
    await expect(progress).to_have_attribute("value", "0.3")
    record["transcript"]["progress"] = 0.75
    library.save(record)
    await expect(progress).to_have_attribute("value", "0.75", timeout=SEEN)
    await expect(card.locator(tid("transcript-show-button"))).to_have_count(0)

    # Ready (as the worker leaves it): the page notices and offers the transcript.
    directory = library.directory(record["id"])
    assert directory is not None
    (directory / "transcript.json").write_text(json.dumps(transcript_document(record["id"])))
    record["transcript"].update(
        state="ready",
        progress=1.0,
        files=["transcript.json"],
        segments=len(SEGMENTS),
        captions={"state": "added", "cues": len(SEGMENTS), "error": None},
    )
    library.save(record)
    await expect(state).to_have_attribute("data-state", "ready", timeout=SEEN)
    await expect(card.locator(tid("transcript-detail"))).to_contain_text("5 lines")
    await expect(card.locator(tid("transcript-detail"))).to_contain_text("captions")
    await card.locator(tid("transcript-show-button")).click()

    lines = card.locator(tid("transcript-line"))
    await expect(lines).to_have_count(len(SEGMENTS), timeout=SEEN)
    speakers = await card.locator(tid("transcript-speaker")).all_text_contents()
    assert speakers == [name for _, name, _, _, _ in SEGMENTS]
    await expect(lines.nth(1)).to_contain_text("the budget for next quarter is ready")
    await expect(lines.nth(4)).to_contain_text("1:05")
    await expect(card.locator(tid("transcript-match-count"))).to_have_text("5 lines")
    # A name is text, never markup.
    assert await page.evaluate("window.pwned") is None
    assert await card.locator(f"{tid('transcript-line')} img").count() == 0

    # Search: matching lines only (words or names, any case), matches marked.
    search = card.locator(tid("transcript-search"))
    await search.fill("BUDGET")
    await expect(lines).to_have_count(3)
    await expect(card.locator(tid("transcript-match-count"))).to_have_text("3 of 5 lines match")
    marks = await card.locator(f"{tid('transcript-lines')} mark").all_text_contents()
    assert [m.lower() for m in marks] == ["budget"] * 3
    await screenshot(page, "admin-transcript-search")

    await search.fill("bob")
    await expect(lines).to_have_count(2)
    assert set(await card.locator(tid("transcript-speaker")).all_text_contents()) == {"Bob"}
    await search.fill("nobody said this")
    await expect(lines).to_have_count(0)
    await expect(card.locator(tid("transcript-match-count"))).to_have_text("0 of 5 lines match")

    # The list refreshes (another recording is being made): the open
    # transcript and the search stay as they were.
    await search.fill("hiring")
    other = library.create({"meeting_id": "m-other", "room": "other", "started_at": time.time()})
    await page.click(tid("admin-refresh-button"))
    await expect(page.locator(tid("recording-row"))).to_have_count(2, timeout=SEEN)
    await expect(lines).to_have_count(2)
    await expect(search).to_have_value("hiring")
    assert other["id"] != record["id"]
    await screenshot(page, "admin-transcript")
    await context.close()


async def test_a_host_sees_the_transcripts_state_and_opens_its_signed_links(
    browser: Browser, tmp_path: Path
) -> None:
    """ "Recordings of this meeting" (meeting menu, hosts): the transcript's
    state under each recording, and a signed link per format once ready."""
    config = tmp_path / "conf.toml"
    config.write_text("recording_host_download = true\n")
    server = ServerProcess(tmp_path, "--config", str(config))
    try:
        context = await browser.new_context(permissions=["camera", "microphone"])
        host = await context.new_page()
        await host.goto(f"{server.url}/r/minutes-room?name=Hana&autojoin=1")
        await wait_joined(host)
        meeting_id = await host.evaluate("window.meeting.interaction.meetingId")
        assert meeting_id
        library = RecordingLibrary(tmp_path / "data" / "recordings")
        pending = library.create(
            {"meeting_id": meeting_id, "started_at": time.time() - 60, "transcript": PENDING}
        )
        pending.update(state="ready", ended_at=time.time() - 30, duration=30.0)
        library.save(pending)
        ready = library.create(
            {"meeting_id": meeting_id, "started_at": time.time() - 600, "transcript": PENDING}
        )
        directory = library.directory(ready["id"])
        assert directory is not None
        vtt = "WEBVTT\n\n1\n00:00:01.200 --> 00:00:03.000\nAda Lovelace: good morning\n"
        (directory / "transcript.vtt").write_text(vtt)
        (directory / "transcript.txt").write_text("[00:00:01] Ada Lovelace: good morning\n")
        (directory / "transcript.json").write_text(json.dumps(transcript_document(ready["id"])))
        ready.update(state="ready", ended_at=time.time() - 500, duration=100.0)
        ready["transcript"] = {**PENDING, "state": "ready", "progress": 1.0, "segments": 1}
        library.save(ready)

        if not await host.locator(tid("meeting-menu")).is_visible():
            await host.click(tid("meeting-menu-button"))
        await host.click(tid("recording-links-button"))
        items = host.locator(tid("recording-link-item"))
        await expect(items).to_have_count(2, timeout=SEEN)
        item = host.locator(f'{tid("recording-link-item")}[data-recording-id="{ready["id"]}"]')
        waiting = host.locator(f'{tid("recording-link-item")}[data-recording-id="{pending["id"]}"]')
        await expect(item.locator(tid("recording-transcript"))).to_have_attribute(
            "data-state", "ready"
        )
        await expect(waiting.locator(tid("recording-transcript"))).to_contain_text(
            "waiting to be made"
        )
        await expect(waiting.locator(tid("recording-transcript-link"))).to_have_count(0)
        links = item.locator(tid("recording-transcript-link"))
        formats = await links.evaluate_all("links => links.map(a => a.dataset.format)")
        assert formats == ["vtt", "txt", "json"]
        await screenshot(host, "host-recording-transcript-links")

        # The signed link opens that format without an API key.
        got = await links.first.evaluate(
            "async (a) => { const r = await fetch(a.href); return [r.status, await r.text()]; }"
        )
        assert got == [200, vtt]
        await context.close()
    finally:
        server.stop()
