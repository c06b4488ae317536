"""Live captions of one room: which speakers' audio goes to the caption
worker (:mod:`recording.caption_process`), and whose words come back.

:class:`LiveCaptioner` is one more consumer of the room's router, like the
recorder: it puts a :class:`CaptionTap` (a packet sink) on every microphone.
A tap does almost nothing per packet: it keeps the last
:data:`PREROLL_PACKETS` payloads, and hands the packet to the worker only
while its speaker is *admitted*. The worker decodes and recognizes in its
own process, so the forwarding loop never waits on it.

At most ``max_speakers`` speakers are admitted at once (bounded CPU): a
microphone is admitted on its first packet whose audio level (RFC 6464, as
the producer read it) says voice, if a place is free or an admitted speaker
has been quiet for :data:`QUIET_RELEASE_S`; it then sends its pre-roll
first, so the first syllable is not lost. A packet without a level counts as
voice (a client without the extension is still captioned). Each admission is
a new worker stream, so a caption's ``utterance`` never repeats for a
participant.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sfu import Producer, Router, RtpView
from sfu.speaker_selection import VOICE_LEVEL  # "voice" as the SFU's speaker selection has it

logger = logging.getLogger(__name__)

#: Packets (20 ms each) kept before admission and sent first: 0.4 s.
PREROLL_PACKETS = 20
#: An admitted speaker quiet this long gives its place to a new one.
QUIET_RELEASE_S = 1.5
#: How often a microphone waiting for a place looks for a quiet speaker.
QUIET_CHECK_S = 0.1


class CaptionFeed(Protocol):
    """What the taps feed (:class:`recording.caption_process.CaptionProcess`)."""

    def audio(self, stream: int, timestamp: int, payload: bytes) -> bool: ...

    def end(self, stream: int) -> None: ...


@dataclass(frozen=True)
class Speaker:
    """Who speaks on a worker stream."""

    participant_id: str
    producer_id: str
    stream: int


Clock = Callable[[], float]


class CaptionTap:
    """The sink on one microphone (see the module's docstring)."""

    def __init__(self, captioner: LiveCaptioner, producer: Producer) -> None:
        self.captioner = captioner
        self.producer = producer
        self.participant_id = str(producer.app_data.get("participant_id"))
        self.stream: int | None = None  # admitted: the worker stream
        self.last_voice = 0.0
        self.next_try = 0.0  # while every place is taken: when to look again
        self._preroll: deque[tuple[int, bytes]] = deque(maxlen=PREROLL_PACKETS)

    def on_rtp(self, view: RtpView) -> None:
        payload = view.payload
        if view.padding and payload:
            payload = payload[: -payload[-1]]
        level = view.audio_level
        voiced = level is None or level <= VOICE_LEVEL
        captioner = self.captioner
        if voiced:
            self.last_voice = captioner.clock()
        if self.stream is None:
            if not (voiced and captioner.admit(self)):
                self._preroll.append((view.timestamp, bytes(payload)))
                return
            assert self.stream is not None
            for timestamp, earlier in self._preroll:
                captioner.feed.audio(self.stream, timestamp, earlier)
            self._preroll.clear()
        if not captioner.feed.audio(self.stream, view.timestamp, bytes(payload)):
            captioner.dropped += 1

    def on_close(self) -> None:
        self.captioner.tap_closed(self)

    def release(self) -> None:
        """Stop sending to the worker (its open utterance ends there)."""
        if self.stream is not None:
            stream, self.stream = self.stream, None
            self.captioner.released()
            self.captioner.feed.end(stream)


class LiveCaptioner:
    """Captions one room's microphones through ``feed``; who spoke on which
    worker stream is :meth:`speaker_of`."""

    def __init__(
        self,
        router: Router,
        feed: CaptionFeed,
        max_speakers: int = 2,
        clock: Clock = time.monotonic,
    ) -> None:
        self.router = router
        self.feed = feed
        self.max_speakers = max(1, max_speakers)
        self.clock = clock
        self.taps: dict[str, CaptionTap] = {}  # by producer id
        self.speakers: dict[int, Speaker] = {}  # by worker stream, while admitted and after
        self.dropped = 0  # packets the worker's pipe had no room for
        self._admitted = 0
        self._next_stream = 1
        self.closed = False

    def start(self) -> None:
        self.router.add_observer(self)
        for producer in list(self.router.producers.values()):
            self.producer_added(producer)

    def close(self) -> None:
        """Take every tap off (the worker is the caller's to close)."""
        if self.closed:
            return
        self.closed = True
        self.router.remove_observer(self)
        for tap in list(self.taps.values()):
            tap.release()
            tap.producer.remove_sink(tap)
        self.taps.clear()

    def speaker_of(self, stream: int) -> Speaker | None:
        return self.speakers.get(stream)

    def admitted(self) -> list[CaptionTap]:
        return [tap for tap in self.taps.values() if tap.stream is not None]

    def released(self) -> None:
        """A tap gave its place up (CaptionTap.release)."""
        self._admitted -= 1

    # -- admission ---------------------------------------------------------------

    def admit(self, tap: CaptionTap) -> bool:
        """Give ``tap`` a worker stream if a place is free or can be freed."""
        if self._admitted >= self.max_speakers:
            # Full: only a speaker quiet long enough gives way. Checked at
            # most every QUIET_CHECK_S per waiting microphone, so many loud
            # microphones waiting cost little per packet.
            now = self.clock()
            if now < tap.next_try:
                return False
            tap.next_try = now + QUIET_CHECK_S
            quietest = min(self.admitted(), key=lambda t: t.last_voice)
            if self.clock() - quietest.last_voice < QUIET_RELEASE_S:
                return False
            quietest.release()
        self._admitted += 1
        stream = self._next_stream
        self._next_stream = self._next_stream % 65535 + 1
        tap.stream = stream
        logger.debug("captioning %s on stream %d", tap.participant_id, stream)
        self.speakers.pop(stream, None)
        self.speakers[stream] = Speaker(tap.participant_id, tap.producer.id, stream)
        # Forget streams long gone (keeps the map bounded).
        while len(self.speakers) > 4 * self.max_speakers + 16:
            oldest = next(iter(self.speakers))
            if any(t.stream == oldest for t in self.taps.values()):
                break
            del self.speakers[oldest]
        return True

    # -- RouterObserver ---------------------------------------------------------------

    def producer_added(self, producer: Producer) -> None:
        if self.closed or producer.kind != "audio" or producer.id in self.taps:
            return
        if producer.closed or producer.app_data.get("source") != "microphone":
            return
        tap = CaptionTap(self, producer)
        self.taps[producer.id] = tap
        producer.add_sink(tap)

    def producer_closed(self, producer: Producer) -> None:
        tap = self.taps.get(producer.id)
        if tap is not None:
            self.tap_closed(tap)

    def active_speaker_changed(self, producer: Producer | None) -> None:
        pass

    def tap_closed(self, tap: CaptionTap) -> None:
        if self.taps.get(tap.producer.id) is tap:
            del self.taps[tap.producer.id]
            tap.release()
            tap.producer.remove_sink(tap)
