"""The live-caption worker process of one room (``python -m
recording.caption_worker '<options as JSON>'``), started and fed by
:class:`recording.caption_process.CaptionProcess`; the wire format is in
that module's docstring.

It lowers its CPU priority (:data:`NICENESS`: below the server's media loop,
above the batch transcript and composite workers, since people are waiting
for these words) and dies with the server (``die_with_parent``). It is
single-threaded: a ``select`` on stdin with a timeout, so it also notices a
speaker whose packets stopped (judged only when the pipe is drained, so a
worker that fell behind never ends an utterance whose packets are waiting).
The engine's work blocks the loop: recognizing a final holds up every
stream's partials for as long as it takes (PocketSphinx: about a third of
the utterance's length on the project's machine; PocketSphinx does not let
go of the GIL, so a thread would not help). Stray output of C libraries
goes to stderr (fd 1 is moved there; the protocol keeps a copy of the
original stdout).

Per stream (:class:`SpeakerCaptions`):

1. Opus decoding with PyAV (FFmpeg's ``opus`` decoder, raw packets without
   extradata, 48 kHz, whatever channels come), then resampling to 16 kHz
   mono. A payload that does not decode is skipped; a packet whose RTP
   timestamp is not newer than the last one (late, duplicate) is dropped.
   A timestamp gap (packets lost or dropped for backlog, DTX) is silence,
   at most :data:`MAX_GAP_SECONDS` of it on the stream's timeline. A packet
   that reaches the worker more than :data:`MAX_LAG_SECONDS` after its
   moment (the worker fell behind) is skipped unheard, so captions are
   never seconds behind the speaker.
2. Voice activity: a :class:`~recording.voice_activity.SpeechSegmenter`
   with live options (:func:`live_vad_options`): its noise floor is set from
   the first frame (at most -35 dBFS), not a warm-up second, so speech at
   the very start of a stream is caught; an utterance ends after 0.6 s
   without speech or at ``max_utterance_seconds``.
3. Recognition as the stretch grows (:mod:`recording.live_recognition`):
   the open stretch's new samples go to the utterance's recognition stream
   at once (preroll padding included), so the first partial needs no more
   than the engine needs to hear a word; the final is the engine's
   recognition of the whole stretch once it ends.

Captions: partials at most every ``partial_interval`` (only when the words
changed), one final per utterance (its words; the last partial's if the end
found none but a partial was shown, so a shown partial is always closed).
An utterance also ends when its speaker's packets stop for
``silence_end_seconds`` (wall clock), and on an END frame. Utterance numbers
count per stream from 1 and are kept after END, so a stream number used
again never repeats one. A stream's error (say, the engine raising) is
logged and drops that stream's state; the others go on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np

from .caption_process import AUDIO, END, HEADER, MAX_PAYLOAD, CaptionOptions
from .composite_worker import die_with_parent
from .errors import RecordingError
from .live_recognition import RecognitionStream, open_stream
from .speech_engines import load_recognizer
from .speech_recognizer import SAMPLE_RATE, PcmArray, SpeechRecognizer
from .voice_activity import SpeechSegmenter, SpeechStretch, VadOptions

logger = logging.getLogger("recording.caption_worker")

#: Added to the worker's nice value: a little below the server (whose media
#: loop comes first), well above the transcript and composite workers (10),
#: since people are waiting for these words. (Measured with two busy loops
#: on the 2-core machine: at 5 the worker got a quarter of a core and fell
#: seconds behind one speaker.)
NICENESS = 2
OPUS_RATE = 48000
#: The most silence one timestamp gap puts on a stream's timeline.
MAX_GAP_SECONDS = 1.0
#: Audio that reaches the worker this much later than the stream's most
#: punctual packet is skipped unheard: captions come late or not at all,
#: never seconds behind the speaker (a busy machine, a long final).
MAX_LAG_SECONDS = 2.5
READ_CHUNK = 65536
#: Live stream decoders loaded before the worker says it is ready.
PRELOADED_STREAMS = 1

Emit = Callable[[dict[str, Any]], None]
Clock = Callable[[], float]


def live_vad_options(options: CaptionOptions) -> VadOptions:
    """The voice-activity options for live captions: the recording's, but
    the noise floor is set from the first frame (no warm-up second to wait
    for) and an utterance is cut at ``max_utterance_seconds``."""
    frame = VadOptions.frame_seconds
    return VadOptions(
        frame_seconds=frame,
        warmup_seconds=frame,
        hangover_seconds=0.6,
        pad_seconds=0.25,
        min_speech_seconds=0.2,
        max_seconds=max(frame, options.max_utterance_seconds),
    )


class SpeakerCaptions:
    """One stream's captions: decoding, voice activity, recognition (see
    the module's docstring)."""

    def __init__(
        self,
        stream: int,
        options: CaptionOptions,
        recognizer: SpeechRecognizer,
        send: Callable[[int, str, bool], None],
        clock: Clock = time.monotonic,
    ) -> None:
        self.stream = stream
        self.options = options
        self._recognizer = recognizer
        self._send = send
        self._clock = clock
        self._decoder = self._new_decoder()
        self._resampler = self._new_resampler()
        self._segmenter = SpeechSegmenter(SAMPLE_RATE, live_vad_options(options))
        self._position = 0  # 16 kHz samples on this stream's timeline
        self._last_rtp: int | None = None  # extended RTP timestamp of the last packet taken
        self._next_rtp: int | None = None  # where its audio ended
        #: Wall-clock time of the last packet (for silence_end_seconds).
        self.last_packet = clock()
        #: The smallest (arrival - RTP time) seen: the stream's most punctual packet.
        self._punctual: float | None = None
        #: Packets skipped because they came too late (MAX_LAG_SECONDS).
        self.stale = 0
        self._recognition: RecognitionStream | None = None
        self._stretch_start: int | None = None  # the recognized stretch's first sample
        self._fed = 0  # its samples given to the recognition so far
        self._partial: str | None = None  # the last partial sent of the utterance

    # -- input ----------------------------------------------------------------------------

    def packet(self, timestamp: int, payload: bytes) -> None:
        """One Opus RTP payload at RTP ``timestamp`` (48 kHz, 32 bits)."""
        self.last_packet = self._clock()
        if not payload:
            return
        rtp = self._extend(timestamp)
        if self._last_rtp is not None and rtp <= self._last_rtp:
            return  # late or duplicate: its moment has passed
        if self._too_late(rtp):
            return
        frames = self._decode(payload)
        if frames is None:
            return  # not Opus: skipped (its time becomes part of the next gap)
        if self._next_rtp is not None and rtp > self._next_rtp:
            gap = min(rtp - self._next_rtp, round(MAX_GAP_SECONDS * OPUS_RATE))
            self._position += gap * SAMPLE_RATE // OPUS_RATE
        self._last_rtp = rtp
        self._next_rtp = rtp + sum(frame.samples for frame in frames)
        samples = self._resample(frames)
        ended = self._segmenter.push(self._position, samples)
        self._position += samples.size
        self._follow(ended)

    def silence(self) -> None:
        """The speaker's packets stopped: the open utterance ends."""
        self._follow(self._segmenter.finish())

    def end(self) -> None:
        """The stream ends: its open utterance too."""
        self.silence()
        self.close()

    def close(self) -> None:
        """Drop everything open (no caption)."""
        self._cancel()

    def _cancel(self) -> None:
        if self._recognition is not None:
            with contextlib.suppress(Exception):
                self._recognition.cancel()
        self._recognition = None

    @property
    def deadline(self) -> float | None:
        """When the open utterance ends if no packet comes (None: none open)."""
        if self._recognition is None and not self._segmenter.in_speech:
            return None
        return self.last_packet + self.options.silence_end_seconds

    def _too_late(self, rtp: int) -> bool:
        """True (and counted) when this packet reached us more than
        MAX_LAG_SECONDS after its moment, measured against the stream's most
        punctual packet (the RTP clock runs with the speaker's). Skipping is
        cheap, so a worker that fell behind catches up at once; the skipped
        time becomes a gap (silence) before the next packet heard."""
        lateness = self.last_packet - rtp / OPUS_RATE
        if self._punctual is None or lateness < self._punctual:
            self._punctual = lateness
        if lateness - self._punctual <= MAX_LAG_SECONDS:
            return False
        self.stale += 1
        return True

    # -- decoding -------------------------------------------------------------------------

    def _extend(self, timestamp: int) -> int:
        """The 32-bit RTP ``timestamp`` as a count that does not wrap."""
        if self._last_rtp is None:
            return timestamp
        delta = (timestamp - self._last_rtp) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        return self._last_rtp + delta

    def _decode(self, payload: bytes) -> list[av.AudioFrame] | None:
        try:
            return list(self._decoder.decode(av.Packet(payload)))
        except av.error.EOFError:  # the decoder went into draining: a new one
            self._decoder = self._new_decoder()
            return None
        except (av.error.FFmpegError, ValueError):
            return None

    def _resample(self, frames: list[av.AudioFrame]) -> PcmArray:
        out: list[np.ndarray[Any, Any]] = []
        for frame in frames:
            frame.pts = None  # our timeline is the RTP timestamps'
            try:
                resampled = self._resampler.resample(frame)
            except ValueError:  # the decoder's layout or format changed
                self._resampler = self._new_resampler()
                resampled = self._resampler.resample(frame)
            out += [r.to_ndarray().reshape(-1) for r in resampled]
        if not out:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(out).astype(np.int16, copy=False)

    @staticmethod
    def _new_decoder() -> Any:
        decoder = av.CodecContext.create("opus", "r")
        decoder.sample_rate = OPUS_RATE
        return decoder

    @staticmethod
    def _new_resampler() -> av.AudioResampler:
        return av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)

    # -- recognition ----------------------------------------------------------------------

    def _follow(self, ended: list[SpeechStretch]) -> None:
        """Keep the recognition in step with the segmenter: stretches that
        ended are finished, the open one gets its new samples."""
        for stretch in ended:
            if self._recognition is None or stretch.start != self._stretch_start:
                self._cancel()  # (a stretch that began and ended in one push)
                self._begin(stretch.start)
                self._feed(stretch.samples)
            else:  # its end was trimmed to the padding: maybe nothing new
                self._feed(stretch.samples[self._fed :])
            self._finish()
        start = self._segmenter.open_start
        if self._recognition is not None and start != self._stretch_start:
            # The segmenter dropped the stretch (too little speech: a click).
            if self._partial is not None:
                self._finish()
            else:
                self._cancel()
        if start is not None:
            if self._recognition is None:
                self._begin(start)
            self._feed(self._segmenter.open_samples(self._fed))

    def _begin(self, start: int) -> None:
        self._recognition = open_stream(self._recognizer, self.options.partial_interval)
        self._stretch_start, self._fed, self._partial = start, 0, None

    def _feed(self, samples: PcmArray) -> None:
        if self._recognition is None or not samples.size:
            return
        self._fed += samples.size
        text = self._recognition.feed(samples)
        if text:
            self._partial = text
            self._send(self.stream, text, False)

    def _finish(self) -> None:
        recognition, self._recognition = self._recognition, None
        if recognition is None:
            return
        text = recognition.finish().text or self._partial
        self._partial = None
        if text:
            self._send(self.stream, text, True)


class CaptionWorker:
    """All streams of a room: stdin frames in, caption messages out (``emit``)."""

    def __init__(
        self,
        options: CaptionOptions,
        recognizer: SpeechRecognizer,
        emit: Emit,
        clock: Clock = time.monotonic,
    ) -> None:
        self.options = options
        self._recognizer = recognizer
        self._emit = emit
        self._clock = clock
        self._speakers: dict[int, SpeakerCaptions] = {}
        self._utterances: dict[int, int] = {}  # stream -> the last utterance number used
        self._open: dict[int, int] = {}  # stream -> the number of its open utterance
        self._buffer = bytearray()
        #: Frames skipped: payload over MAX_PAYLOAD or unknown kind.
        self.skipped = 0

    def feed_bytes(self, data: bytes) -> None:
        """Bytes from stdin: handle every whole frame (a partial one waits)."""
        buffer = self._buffer
        buffer += data
        offset = 0
        while len(buffer) - offset >= HEADER.size:
            kind, stream, timestamp, length = HEADER.unpack_from(buffer, offset)
            end = offset + HEADER.size + length
            if end > len(buffer):
                break
            payload = bytes(buffer[offset + HEADER.size : end])
            offset = end
            if kind not in (AUDIO, END) or length > MAX_PAYLOAD:
                self.skipped += 1
                continue
            self.frame(kind, stream, timestamp, payload)
        del buffer[:offset]

    def frame(self, kind: int, stream: int, timestamp: int, payload: bytes) -> None:
        """One frame (see :mod:`recording.caption_process`)."""
        try:
            if kind == END:
                speaker = self._speakers.pop(stream, None)
                if speaker is not None:
                    speaker.end()
                self._open.pop(stream, None)
                return
            speaker = self._speakers.get(stream)
            if speaker is None:
                speaker = SpeakerCaptions(
                    stream, self.options, self._recognizer, self._send, self._clock
                )
                self._speakers[stream] = speaker
            speaker.packet(timestamp, payload)
        except Exception:  # one stream's trouble must not stop the others
            logger.exception("stream %d failed; its state is dropped", stream)
            self._drop(stream)

    def tick(self) -> float | None:
        """End the utterances whose speakers went quiet; the seconds until
        the next such moment (None: nothing open)."""
        now = self._clock()
        soonest: float | None = None
        for stream, speaker in list(self._speakers.items()):
            deadline = speaker.deadline
            if deadline is None:
                continue
            if deadline <= now:
                try:
                    speaker.silence()
                except Exception:
                    logger.exception("stream %d failed; its state is dropped", stream)
                    self._drop(stream)
                    continue
                deadline = speaker.deadline
                if deadline is None:
                    continue
            soonest = deadline if soonest is None else min(soonest, deadline)
        return None if soonest is None else max(0.0, soonest - now)

    def close(self) -> None:
        for speaker in self._speakers.values():
            speaker.close()
        self._speakers.clear()

    def _drop(self, stream: int) -> None:
        speaker = self._speakers.pop(stream, None)
        if speaker is not None:
            with contextlib.suppress(Exception):
                speaker.close()
        self._open.pop(stream, None)

    def _send(self, stream: int, text: str, final: bool) -> None:
        utterance = self._open.get(stream)
        if utterance is None:
            utterance = self._utterances.get(stream, 0) + 1
            self._utterances[stream] = self._open[stream] = utterance
        if final:
            del self._open[stream]
        self._emit({"stream": stream, "utterance": utterance, "text": text, "final": final})


def serve(worker: CaptionWorker, fd: int, flush: Callable[[], None]) -> None:
    """Read frames from ``fd`` until it ends, ending quiet speakers'
    utterances on time; ``flush`` after each round."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        timeout: float | None = None
        while True:
            if selector.select(timeout):
                data = os.read(fd, READ_CHUNK)
                if not data:
                    return
                worker.feed_bytes(data)
                flush()
                if selector.select(0):
                    # More came while these were handled (a slow round, a
                    # backlog): maybe a speaker's next packets. A speaker is
                    # judged quiet only once the pipe is drained.
                    timeout = 0
                    continue
            timeout = worker.tick()
            flush()


def main(argv: list[str] | None = None) -> int:
    """The worker: load the engine, say ready (or why not), then serve stdin."""
    logging.basicConfig(
        level=logging.WARNING, format="caption worker %(process)d: %(levelname)s %(message)s"
    )
    config = json.loads((sys.argv[1:] if argv is None else argv)[0])
    parent_pid = config.get("parent_pid")
    options = CaptionOptions.from_json(config)
    # Ctrl-C in a terminal reaches the whole process group: the server
    # decides when its worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if isinstance(parent_pid, int):
        die_with_parent(parent_pid)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to stdout lands on stderr

    def emit(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    try:
        recognizer = load_recognizer(options.engine_choice())
        preload: Callable[[int], None] | None = getattr(recognizer, "preload_streams", None)
        if preload is not None:
            preload(PRELOADED_STREAMS)
    except RecordingError as exc:
        emit({"error": exc.code, "message": exc.message})
        out.flush()
        return 1
    except Exception as exc:
        emit({"error": "captions_unavailable", "message": f"{type(exc).__name__}: {exc}"})
        out.flush()
        return 1
    emit(
        {
            "ready": True,
            "engine": recognizer.engine,
            "language": recognizer.language,
            "streaming": hasattr(recognizer, "start_stream"),
            "pid": os.getpid(),
        }
    )
    out.flush()
    worker = CaptionWorker(options, recognizer, emit)
    try:
        serve(worker, sys.stdin.fileno(), out.flush)
    except BrokenPipeError:
        return 0  # the server is gone
    except Exception as exc:
        logger.exception("the caption worker failed")
        with contextlib.suppress(OSError):
            emit({"error": "captions_failed", "message": f"{type(exc).__name__}: {exc}"})
            out.flush()
        return 1
    finally:
        worker.close()
        recognizer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
