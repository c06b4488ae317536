"""RoomRecorder: writes every track of one room to its own WebM file.

It is just another consumer of the room's router (Galène's disk writer): it
attaches a :class:`TrackRecorder` as a packet sink to every current and future
producer. Nothing is decoded or encoded: VP8 frames are re-assembled from RTP,
Opus packets are written as they come.

One timeline for all files of a recording: time 0 is the moment recording
started, and each frame's time is its RTP timestamp mapped to the server's
wall clock. The mapping comes from the publisher's RTCP sender reports (so
audio and video of one person line up as they were captured); the offset
between the publisher's clock and ours is measured once per participant on
arrival. Without a sender report yet, arrival time is used. Paused time stays
on the timeline as a gap with no media from anyone.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from sfu import Producer, Router, RtpView

from .library import RecordingLibrary
from .timeline import Timeline
from .track_writer import TrackWriter
from .vp8 import Vp8Assembler, keyframe_size

logger = logging.getLogger(__name__)

NameLookup = Callable[[str], str | None]


def _signed(delta: int) -> int:
    """A 32-bit RTP timestamp difference as a signed number."""
    return (delta + (1 << 31)) % (1 << 32) - (1 << 31)


class TrackRecorder:
    """The sink on one producer: frames of one track into one file."""

    def __init__(self, recorder: RoomRecorder, producer: Producer, name: str) -> None:
        self.recorder = recorder
        self.producer = producer
        self.name = name
        self.kind = producer.kind
        self.clock_rate = 90000 if producer.kind == "video" else 48000
        self.closed = False
        self.writer: TrackWriter | None = None
        self._assembler = Vp8Assembler() if producer.kind == "video" else None
        self._last_ts: int | None = None
        self._extended = 0
        self._base: int | None = None  # extended timestamp at timeline 0
        self._squeezed = False  # frames from before the start were put at its beginning
        self._ssrc: int | None = None
        self.started_at: float | None = None  # timeline seconds of the first frame
        self.error: str | None = None

    # -- PacketSink -------------------------------------------------------------------

    def on_rtp(self, view: RtpView) -> None:
        if self.closed or self.recorder.paused:
            return
        if view.ssrc != self._ssrc:
            self._follow_stream(view.ssrc, view.timestamp)
        payload = view.payload
        if view.padding and payload:
            payload = payload[: -payload[-1]]
        if self._assembler is None:
            if payload:
                self._write(view.timestamp, payload, True)
            return
        frame = self._assembler.push(
            view.sequence_number, view.timestamp, bool(view.marker), payload
        )
        if frame is not None:
            self._write(frame.timestamp, frame.data, frame.keyframe)
        elif self._assembler.need_keyframe:
            self.producer.request_keyframe()  # throttled by the producer

    def on_close(self) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------

    def _follow_stream(self, ssrc: int, timestamp: int) -> None:
        """The producer moved the recording to another simulcast layer (it
        does so at a keyframe): that stream has its own timestamp base, so
        place its first frame on the timeline afresh, after the last one."""
        if self._ssrc is not None and self._base is not None and self._last_ts is not None:
            offset = self.recorder.timeline_position(self.producer, timestamp, self.clock_rate)
            at = self._base + max(0, round(offset * self.clock_rate))
            self._extended = max(at, self._extended + 1)
            self._last_ts = timestamp
        self._ssrc = ssrc

    def _extend(self, timestamp: int) -> int:
        if self._last_ts is None:
            self._extended = timestamp
        else:
            self._extended += _signed(timestamp - self._last_ts)
        self._last_ts = timestamp
        return self._extended

    def _write(self, timestamp: int, data: bytes, keyframe: bool) -> None:
        extended = self._extend(timestamp)
        if self._base is None:
            self._anchor(extended, timestamp)
        assert self._base is not None
        pts = extended - self._base
        if pts < 0 and self.kind == "audio":
            return  # captured before recording started: not part of the recording
        last = None if self.writer is None else self.writer.last_pts
        floor = 0 if last is None else last + self.clock_rate // 1000  # WebM keeps ms
        if pts < 0 or (self._squeezed and pts < floor):
            # A video frame captured before recording started (it was on its
            # way): the picture needs it, so it goes at the start, each one a
            # millisecond after the last. Moving the whole track later instead would
            # put this person's video after their audio and everyone else.
            pts, self._squeezed = floor, True
        if self.writer is None and not self._open(pts, data):
            return
        assert self.writer is not None
        try:
            self.writer.write(data, pts, keyframe)
        except Exception as exc:  # a full disk, say: stop this track, log once
            logger.exception("writing %s failed; this track stops here", self.name)
            self.error = str(exc)
            self.close()

    def _anchor(self, extended: int, timestamp: int) -> None:
        """Fix where this track's timestamps sit on the timeline, from its first frame."""
        offset = self.recorder.timeline_position(self.producer, timestamp, self.clock_rate)
        self._base = extended - round(offset * self.clock_rate)

    def _open(self, pts: int, data: bytes) -> bool:
        """Start the file with this (first) frame; False if it cannot start one."""
        size = keyframe_size(data) if self.kind == "video" else (0, 0)
        if size is None:
            return False  # video files start with a keyframe (it has the size)
        try:
            self.writer = TrackWriter(self.recorder.directory / self.name, self.kind, *size)
        except Exception as exc:
            logger.exception("cannot write %s; this track is not recorded", self.name)
            self.error = str(exc)
            self.close()
            return False
        self.started_at = pts / self.clock_rate
        self.recorder.track_started(self)
        return True

    def resume(self) -> None:
        """After a pause: wait for (and ask for) a keyframe."""
        if self._assembler is not None:
            self._assembler.wait_for_keyframe()
            self.producer.request_keyframe()

    def describe(self) -> dict[str, Any]:
        writer = self.writer
        return {
            "name": self.name,
            "kind": self.kind,
            "codec": "VP8" if self.kind == "video" else "opus",
            "participant_id": self.producer.app_data.get("participant_id"),
            "source": self.producer.app_data.get("source"),
            "start": self.started_at,
            "duration": writer.duration if writer else 0.0,
            "frames": writer.frames if writer else 0,
            "error": self.error,
        }

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.producer.remove_sink(self)
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                logger.exception("closing %s failed", self.writer.path)
        self.recorder.track_closed(self)


class RoomRecorder:
    """Records one room: start (in the constructor's ``start``), pause, resume, stop."""

    def __init__(
        self,
        library: RecordingLibrary,
        router: Router,
        meta: dict[str, Any],
        name_of: NameLookup | None = None,
    ) -> None:
        self.library = library
        self.router = router
        self.record = library.create(meta)
        self.id: str = self.record["id"]
        directory = library.directory(self.id)
        assert directory is not None
        self.directory = directory
        self.paused = False
        self.stopped = False
        self.tracks: dict[str, TrackRecorder] = {}  # by producer id
        self._finished: list[TrackRecorder] = []
        self._name_of = name_of or (lambda _pid: None)
        self._clock_offsets: dict[str, float] = {}  # participant -> our clock - theirs
        self._started_wall = float(self.record["started_at"])
        self._started_mono = time.monotonic()
        self._paused_at: float | None = None
        self._counter = 0
        self.timeline = Timeline(self.directory, self.now)

    def start(self) -> None:
        self.timeline.add("recording.started", {"started_at": self._started_wall})
        self.router.add_observer(self)
        for producer in list(self.router.producers.values()):
            self.producer_added(producer)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        """Put a meeting event on the timeline (see recording/timeline.py)."""
        if not self.stopped:
            self.timeline.add(kind, data)

    # -- the timeline ---------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since recording started (monotonic)."""
        return time.monotonic() - self._started_mono

    def timeline_position(self, producer: Producer, timestamp: int, clock_rate: int) -> float:
        """Where the frame with RTP ``timestamp`` of ``producer`` sits on the timeline."""
        arrival = self.now()
        report = producer.sender_report
        if report is None:
            return arrival
        sender_time = report.unix_time + _signed(timestamp - report.rtp_timestamp) / clock_rate
        owner = str(producer.app_data.get("participant_id"))
        if owner not in self._clock_offsets:
            # Our clock minus theirs, plus a delay: measured on this frame's
            # arrival and on the report's; the smaller holds less delay.
            by_frame = (self._started_wall + arrival) - sender_time
            report_arrival = self._started_wall + report.received_at - self._started_mono
            by_report = report_arrival - report.unix_time
            self._clock_offsets[owner] = min(by_frame, by_report)
        return sender_time + self._clock_offsets[owner] - self._started_wall

    # -- RouterObserver ---------------------------------------------------------------------

    def producer_added(self, producer: Producer) -> None:
        if self.stopped or producer.id in self.tracks or producer.closed:
            return
        self._counter += 1
        source = re.sub(r"[^a-z0-9]", "", str(producer.app_data.get("source", producer.kind)))
        name = f"track-{self._counter:03d}-{source or producer.kind}.webm"
        track = TrackRecorder(self, producer, name)
        self.tracks[producer.id] = track
        producer.add_sink(track)
        if producer.kind == "video":
            producer.request_keyframe()

    def producer_closed(self, producer: Producer) -> None:
        track = self.tracks.get(producer.id)
        if track is not None:
            track.close()

    def active_speaker_changed(self, producer: Producer | None) -> None:
        pass

    # -- tracks ------------------------------------------------------------------------------

    def track_started(self, track: TrackRecorder) -> None:
        participant_id = track.producer.app_data.get("participant_id")
        known = {p["id"] for p in self.record["participants"]}
        if participant_id is not None and participant_id not in known:
            self.record["participants"].append(
                {"id": participant_id, "name": self._name_of(str(participant_id))}
            )
        self._save()

    def track_closed(self, track: TrackRecorder) -> None:
        self.tracks.pop(track.producer.id, None)
        if track.writer is not None or track.error is not None:
            self._finished.append(track)
        self._save()

    # -- control ------------------------------------------------------------------------------

    def pause(self) -> None:
        if self.paused or self.stopped:
            return
        self.paused = True
        self._paused_at = self.now()
        self.timeline.add("recording.paused")
        self._save()

    def resume(self) -> None:
        if not self.paused or self.stopped:
            return
        self.paused = False
        assert self._paused_at is not None
        self.record["pauses"].append([self._paused_at, self.now()])
        self._paused_at = None
        self.timeline.add("recording.resumed")
        for track in self.tracks.values():
            track.resume()
        self._save()

    def stop(self, state: str = "ready") -> dict[str, Any]:
        """Close every file and mark the recording ``state``; returns the metadata."""
        if self.stopped:
            return self.library.get(self.id) or self.record
        if self.paused:
            self.resume()
        self.timeline.add("recording.stopped")
        self.timeline.close()
        self.stopped = True
        self.router.remove_observer(self)
        for track in list(self.tracks.values()):
            track.close()
        written = [t for t in self._finished if t.writer is not None and t.writer.frames]
        if self._finished and not written and any(t.error for t in self._finished):
            state = "failed"  # every track failed to write (the disk, say)
        self.record["state"] = state
        self.record["ended_at"] = self._started_wall + self.now()
        self._save()
        return self.library.get(self.id) or self.record

    def refresh(self) -> None:
        """Write the metadata as of now (duration, tracks) while recording."""
        if not self.stopped:
            self._save()

    def _save(self) -> None:
        tracks = [t.describe() for t in self._finished]
        tracks += [t.describe() for t in self.tracks.values() if t.writer is not None]
        self.record["tracks"] = sorted(tracks, key=lambda t: t["name"])
        paused = sum(end - start for start, end in self.record["pauses"])
        if self._paused_at is not None:
            paused += self.now() - self._paused_at
        self.record["duration"] = round(max(0.0, self.now() - paused), 3)
        self.record["paused"] = self.paused
        self.library.save(self.record)
