"""Live captions in real Chromium (issue 18, point 4): a participant whose
fake microphone plays a known spoken file (a WAV file made here with
espeak-ng, played by Chromium's ``--use-file-for-fake-audio-capture``)
produces captions with their name under the gallery of another page, within
3 s of starting to speak.

When the speaking starts: the speaking page watches its own microphone
track (an analyser on it) and notes the moment it first carries speech; the
file has :data:`LEAD` seconds of silence before the sentence, long enough for
joining and publishing. Both pages run on this machine, so their
``Date.now()`` clocks are one. The listening host keeps her microphone off
(Chromium's default fake microphone beeps every second: a second speaker).
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, PageFactory, join, new_meeting_page, tid
from playwright.async_api import async_playwright
from spoken_words import ALICE_VOICE, RATE, needs_espeak, synthesize, words_of
from word_error import word_error_rate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SENTENCE = "We need to talk about the budget for next year."
#: Silence before the speech: the page joins and publishes meanwhile.
LEAD = 7.0
TAIL = 4.0
#: What the issue asks: captions on another page within this long of speaking.
CAPTION_WITHIN_S = 3.0
#: The final caption's words against the sentence (the recorded transcript's bound).
MAX_WER = 0.6

# On the speaking page: the moment its microphone first carries speech (a
# level well above the file's silence), read from the track itself.
NOTE_SPEECH_ONSET = """
(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    const track = stream.getAudioTracks()[0];
    if (track && !window.__listening) {
      window.__listening = true;
      const context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 512;
      context.createMediaStreamSource(new MediaStream([track.clone()])).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      const timer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        const peak = samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        if (peak > 0.05) {
          window.__speechAt = Date.now();
          clearInterval(timer);
        }
      }, 10);
    }
    return stream;
  };
})();
"""

# On the watching page: every caption event, with its arrival.
KEEP_CAPTIONS = """
() => {
  window.__captions = [];
  window.meeting.interaction.addEventListener("caption", (event) => {
    window.__captions.push({ ...event.detail, at: Date.now() });
  });
}
"""

# On the watching page: the moment the first caption line appears.
NOTE_FIRST_CAPTION = """
() => {
  const area = document.querySelector('[data-testid="captions"]');
  new MutationObserver(() => {
    if (!window.__firstCaptionAt && area.querySelector('[data-testid="caption-line"]')) {
      window.__firstCaptionAt = Date.now();
    }
  }).observe(area, { childList: true, subtree: true });
}
"""


def spoken_file(directory: Path) -> tuple[Path, float]:
    """A 48 kHz mono WAV file: LEAD s of silence, the sentence, TAIL s of
    silence; returns it and its length in seconds (Chromium plays it in a
    loop)."""
    speech = synthesize(SENTENCE, ALICE_VOICE, directory)
    signal = np.concatenate(
        [np.zeros(round(LEAD * RATE), np.int16), speech, np.zeros(round(TAIL * RATE), np.int16)]
    )
    path = directory / "microphone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(signal.tobytes())
    return path, signal.size / RATE


@needs_espeak
async def test_a_speakers_words_appear_as_captions_on_another_page_within_3_s(
    open_page: PageFactory, conf_server: Any, tmp_path: Path
) -> None:
    microphone, loop = spoken_file(tmp_path)

    # The host turns captions on for the meeting, and shows them.
    host, _ = await join(open_page, "captions", "Hannah")
    # Hannah listens with her microphone off (Chromium's default fake
    # microphone beeps every second: that would be a second speaker).
    await host.click(tid("mic-button"))
    await host.wait_for_selector(f"{tid('mic-button')}[data-muted='true']")
    await host.click(tid("meeting-menu-button"), timeout=20_000)
    # The menu says which language captions are recognized in.
    assert "English" in await host.locator(tid("captions-hint")).inner_text()
    await host.click(tid("captions-enable-toggle"))
    await host.wait_for_selector(f"{tid('meeting-menu-status')}:has-text('Live captions are on')")
    await host.keyboard.press("Escape")
    await host.click(tid("captions-button"))
    await host.wait_for_selector(f"{tid('captions-button')}[aria-pressed='true']", timeout=20_000)
    await host.evaluate(NOTE_FIRST_CAPTION)
    await host.evaluate(KEEP_CAPTIONS)
    assert await host.locator(tid("caption-line")).count() == 0

    # Sam's browser plays the spoken file as its microphone.
    async with async_playwright() as playwright:
        speaking = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={microphone}"],
        )
        try:
            contexts: list[Any] = []
            sam = await new_meeting_page(speaking, contexts, "Sam")
            await sam.add_init_script(NOTE_SPEECH_ONSET)
            await sam.goto(f"{conf_server.url}/r/captions?name=Sam&autojoin=1")
            await sam.wait_for_selector("body[data-state='joined']", timeout=20_000)

            line = host.locator(tid("caption-line")).first
            await line.wait_for(timeout=LEAD * 1000 + 20_000)
            spoke = await sam.evaluate("window.__speechAt")
            first = await host.evaluate("window.__firstCaptionAt")
            delay = (first - spoke) / 1000
            print(f"first caption {delay:.2f} s after the speech began")
            shown = await host.evaluate("window.__captions")
            print("captions:", [((c["at"] - spoke) / 1000, c["final"], c["text"]) for c in shown])
            assert await line.locator(".caption-name").inner_text() == "Sam"
            assert await host.locator(tid("captions")).is_visible()
            assert -0.5 < delay <= CAPTION_WITHIN_S

            # The sentence's words: the final captions that came before the
            # file, played in a loop, speaks again.
            until = spoke + (loop - LEAD) * 1000
            now = await host.evaluate("() => Date.now()")
            await asyncio.sleep(max(0.0, (until - now) / 1000))
            captions = await host.evaluate("window.__captions")
            finals = [c for c in captions if c["final"] and c["at"] <= until]
            assert finals, captions
            assert {c["name"] for c in captions} == {"Sam"}
            heard = [w for c in finals for w in words_of(c["text"])]
            rate = word_error_rate(words_of(SENTENCE), heard)
            print(f"captions: {' '.join(heard)} (word error rate {rate:.2f})")
            assert rate <= MAX_WER
        finally:
            await speaking.close()
