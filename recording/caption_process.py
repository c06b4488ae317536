"""Live captions of a meeting, from inside the server: :class:`CaptionProcess`
runs one worker process per room (:mod:`recording.caption_worker`) that
decodes the speakers' Opus packets, finds their speech and recognizes it,
and hands back :class:`Caption` lines. The server never waits on any of it:
:meth:`CaptionProcess.audio` only appends a frame to the worker's pipe, and
drops it (returns False) when more than ``max_backlog_bytes`` wait there.

The wire format (both directions are pipes to the worker):

- stdin, binary frames: a :data:`HEADER` (``>BHIH``: kind, stream,
  RTP timestamp, payload length; 9 bytes) then the payload. Kind
  :data:`AUDIO` (1) carries one Opus RTP payload (48 kHz RTP clock) of
  ``stream`` (0..65535); kind :data:`END` (2), no payload, ends the
  stream's captions (a final for its open utterance, then its state is
  forgotten). Payloads over :data:`MAX_PAYLOAD` bytes are refused here and
  skipped by the worker; unknown kinds are skipped.
- stdout, JSON lines: first ``{"ready": true, "engine": ..., "language":
  ..., "streaming": true|false, "pid": ...}`` once the engine is loaded, or
  ``{"error": code, "message": ...}`` and the worker exits; then one line
  per caption: ``{"stream": 3, "utterance": 1, "text": "good morning",
  "final": false}``. An ``{"error": ...}`` line later means the worker
  failed and is about to exit.

Closing stdin stops the worker at once (open utterances get no final: the
server calls :meth:`CaptionProcess.end` first for the last words it wants).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EngineUnavailable, RecordingError
from .speech_engines import EngineChoice, check_language, engine_problem

logger = logging.getLogger(__name__)

#: stdin frame header: kind, stream, RTP timestamp, payload length.
HEADER = struct.Struct(">BHIH")
AUDIO = 1
END = 2
#: The largest payload a frame may carry (an Opus packet fits in one
#: Ethernet MTU; anything bigger is not a packet of ours).
MAX_PAYLOAD = 1500
MAX_STREAM = 0xFFFF
#: After close() asks the worker to stop (stdin closed): seconds until it is
#: terminated, then seconds more until it is killed.
STOP_GRACE = 2.0
KILL_GRACE = 2.0
#: Where the ``recording`` package lives: the worker needs it on its path.
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class CaptionOptions:
    """How a room's captions are made (JSON: passed to the worker)."""

    engine: str = "pocketsphinx"
    model: str | None = None
    language: str = "en-US"
    #: The deployment's language: what a Vosk model speaks (see EngineChoice).
    deployment_language: str = "en-US"
    #: Seconds between two partial captions of one speaker (at least).
    partial_interval: float = 0.4
    #: An utterance is cut (a final caption) after this many seconds.
    max_utterance_seconds: float = 8.0
    #: A speaker in speech whose packets stop this long (wall clock): the
    #: utterance ends (a final caption). Covers senders that stop sending in
    #: silence (Opus DTX) and a microphone muted mid-word.
    silence_end_seconds: float = 0.7
    #: More than this many bytes waiting for the worker: audio() drops.
    max_backlog_bytes: int = 256_000

    def engine_choice(self) -> EngineChoice:
        return EngineChoice(self.engine, self.language, self.model, self.deployment_language)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaptionOptions:
        """The options in ``data`` (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Caption:
    """Words of one speaker: a partial (the words so far, may still change)
    or the final text of an utterance."""

    #: The stream number the server chose in audio().
    stream: int
    #: Counts up per stream from 1; partials and the final of one utterance share it.
    utterance: int
    #: The words so far (partial) or the whole utterance (final); never empty.
    text: str
    final: bool


class CaptionsUnavailable(RecordingError):
    """Captions cannot be made: the engine does not speak the language, its
    package or model is missing, or the worker did not come up. ``code`` is
    the engine's own when the engine said why (``transcript_language_unsupported``,
    ``transcript_engine_unavailable``, ``transcript_engine_unknown``)."""

    code = "captions_unavailable"


def encode_frame(kind: int, stream: int, timestamp: int, payload: bytes = b"") -> bytes:
    """One stdin frame (see the module's docstring)."""
    return HEADER.pack(kind, stream, timestamp & 0xFFFFFFFF, len(payload)) + payload


class CaptionProcess:
    """The caption worker of one room, seen from the server's event loop.

    ``on_caption`` is called on the event loop's thread for each caption;
    ``on_exit(reason)`` once if the worker ends unexpectedly (never after
    :meth:`close`). Exceptions raised by either are logged, not propagated.
    """

    def __init__(
        self,
        options: CaptionOptions,
        on_caption: Callable[[Caption], None],
        on_exit: Callable[[str | None], None] | None = None,
    ) -> None:
        self.options = options
        self._on_caption = on_caption
        self._on_exit = on_exit
        #: Audio payloads dropped because the worker's backlog was full.
        self.dropped = 0
        #: Payloads refused as malformed (empty, over MAX_PAYLOAD, bad stream).
        self.rejected = 0
        #: The worker's ready line (engine, language, streaming, pid).
        self.info: dict[str, Any] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._stdin: asyncio.StreamWriter | None = None
        self._reader: asyncio.Task[None] | None = None
        self._alive = False
        self._closing = False
        self._last_error: str | None = None

    @property
    def running(self) -> bool:
        """Started, not closed, and the worker has not ended."""
        return self._alive and not self._closing

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self, timeout: float = 30.0) -> None:
        """Spawn the worker and wait until its engine is loaded. Raises
        :class:`CaptionsUnavailable` (with the engine's code and a clear
        message) if the language is not spoken by the engine, the engine or
        model is missing, or the worker does not come up within ``timeout``
        seconds. The language and the engine are checked here first (cheap),
        so the common refusals need no process."""
        if self._process is not None or self._closing:
            raise RuntimeError("a CaptionProcess starts once")
        choice = self.options.engine_choice()
        try:
            check_language(choice)
            problem = engine_problem(choice)
        except RecordingError as exc:
            raise CaptionsUnavailable(exc.message, exc.code) from exc
        if problem is not None:
            raise CaptionsUnavailable(problem, EngineUnavailable.code)
        argument = json.dumps({**dataclasses.asdict(self.options), "parent_pid": os.getpid()})
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        # Spawned from the event loop's thread: the worker's PR_SET_PDEATHSIG
        # follows the thread that forked it (see composite_worker).
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "recording.caption_worker",
            argument,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        self._process = process
        assert process.stdout is not None and process.stdin is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
            first = _json_line(line)
            if first is None or first.get("ready") is not True:
                code = str(first.get("error")) if first and first.get("error") else None
                message = str(first.get("message")) if first and first.get("message") else None
                if message is None:
                    await self._stop_process()
                    message = (
                        "the caption worker exited before it was ready "
                        f"({_describe_exit(process.returncode)})"
                    )
                raise CaptionsUnavailable(message, code)
        except TimeoutError:
            await self._stop_process()
            raise CaptionsUnavailable(
                f"the caption worker did not come up within {timeout:g} s"
            ) from None
        except BaseException:  # refused, cancelled: nothing is left behind
            await self._stop_process()
            raise
        self.info = first
        self._stdin = process.stdin
        self._alive = True
        self._reader = asyncio.get_running_loop().create_task(self._read(process))

    def audio(self, stream: int, timestamp: int, payload: bytes) -> bool:
        """One Opus RTP payload (48 kHz RTP clock ``timestamp``) of speaker
        ``stream`` (0..65535). Never blocks and never raises once started:
        False when the worker is not running, the payload is malformed
        (counted in :attr:`rejected`), or more than ``max_backlog_bytes``
        would wait in the pipe (counted in :attr:`dropped`)."""
        writer = self._stdin
        if writer is None or not self.running:
            return False
        if not 0 <= stream <= MAX_STREAM or not 0 < len(payload) <= MAX_PAYLOAD:
            self.rejected += 1
            return False
        try:
            transport = writer.transport
            if transport.is_closing():
                return False
            waiting = transport.get_write_buffer_size()
            if waiting + HEADER.size + len(payload) > self.options.max_backlog_bytes:
                self.dropped += 1
                return False
            writer.write(encode_frame(AUDIO, stream, timestamp, payload))
        except (OSError, RuntimeError, ValueError):  # the pipe broke under us
            return False
        return True

    def end(self, stream: int) -> None:
        """The server stops captioning ``stream``: its open utterance ends
        now (a final caption if it held words) and its state is forgotten.
        Sent even past the backlog bound (9 bytes), so it is never lost."""
        writer = self._stdin
        if writer is None or not self.running or not 0 <= stream <= MAX_STREAM:
            return
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            if not writer.transport.is_closing():
                writer.write(encode_frame(END, stream, 0))

    async def close(self) -> None:
        """Stop the worker: stdin closed, terminated after ``STOP_GRACE``
        seconds, killed after ``KILL_GRACE`` more. No callbacks afterwards.
        Safe twice."""
        self._closing = True
        self._alive = False
        await self._stop_process()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _stop_process(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            if process.stdin is not None:
                with contextlib.suppress(OSError, RuntimeError):
                    process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), KILL_GRACE)
                except TimeoutError:
                    # A stopped (SIGSTOP) worker ignores SIGTERM until it runs again.
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        if process.stdin is not None:
            # What was still buffered for a worker that is gone goes nowhere.
            transport = process.stdin.transport
            if not transport.is_closing():
                transport.abort()

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        """Hand each caption line to ``on_caption`` until the worker's stdout
        ends; then, unless closing, report the unexpected end."""
        assert process.stdout is not None
        while True:
            try:
                line = await process.stdout.readline()
            except ValueError:  # a line over the reader's limit: not ours
                continue
            if not line:
                break
            message = _json_line(line)
            if message is None:
                logger.warning("caption worker %s: unreadable line %r", process.pid, line[:200])
                continue
            if "error" in message:
                self._last_error = f"{message.get('error')}: {message.get('message')}"
                logger.error("caption worker %s failed: %s", process.pid, self._last_error)
                continue
            caption = _caption(message)
            if caption is None or self._closing:
                continue
            try:
                self._on_caption(caption)
            except Exception:
                logger.exception("on_caption raised for %s", caption)
        await process.wait()
        self._alive = False
        if self._closing:
            return
        reason = _describe_exit(process.returncode)
        if self._last_error is not None:
            reason = f"{reason} ({self._last_error})"
        logger.warning("caption worker %s ended: %s", process.pid, reason)
        await self._stop_process()  # the stdin transport's buffer
        if self._on_exit is not None:
            try:
                self._on_exit(reason)
            except Exception:
                logger.exception("on_exit raised")


def _json_line(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _caption(message: dict[str, Any]) -> Caption | None:
    stream, utterance = message.get("stream"), message.get("utterance")
    text, final = message.get("text"), message.get("final")
    if not (
        isinstance(stream, int)
        and isinstance(utterance, int)
        and isinstance(text, str)
        and text
        and isinstance(final, bool)
    ):
        return None
    return Caption(stream, utterance, text, final)


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"
