"""One file as an HTTP download, with the conditional and range requests of
RFC 9110 (sections 13 and 14), from a descriptor the caller opened.

- Validators: a strong ``ETag`` (modification time and size) and
  ``Last-Modified``.
- Preconditions, in the RFC's order: ``If-Match`` / ``If-Unmodified-Since``
  (``412``), ``If-None-Match`` / ``If-Modified-Since`` (``304``).
- ``Range: bytes=`` with ONE range: ``206`` with ``Content-Range``. A range
  that starts at or after the end, and ``bytes=-0``, are not satisfiable:
  ``416`` with ``Content-Range: bytes */<size>``; so is a malformed byte
  range (``bytes=5-3``, ``bytes=x``). Several ranges: the whole file, ``200``
  (RFC 9110 lets a server ignore ``Range``; no ``multipart/byteranges``).
  Another unit than ``bytes``, and any range of an empty file: ignored.
- ``If-Range``: the range is served only if the validator still matches
  (an entity tag compared strongly, a date equal to ``Last-Modified``);
  otherwise the whole file, ``200``.
"""

from __future__ import annotations

import asyncio
import math
import mimetypes
import os
import re

from aiohttp import web
from aiohttp.helpers import ETAG_ANY, ETag

CHUNK = 256 * 1024
#: ASCII digits only (RFC 9110's DIGIT): ``\d`` would take any script's.
_BYTE_RANGE = re.compile(r"([0-9]*)-([0-9]*)")
#: Positions of more digits than this lie beyond any file; they are read as
#: this (int() refuses strings of over 4,300 digits, and a Range header may
#: hold 8,000).
_FAR = 10**18


class Unsatisfiable(Exception):
    """The Range header asks for nothing this file has (or is malformed): 416."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``(first, last)`` bytes (inclusive) a ``Range`` header asks of a file
    of ``size`` bytes; None for the whole file. Raises :class:`Unsatisfiable`."""
    if header is None or size == 0:
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None  # a unit we do not know: ignored (RFC 9110, 14.2)
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        raise Unsatisfiable("the Range header names no byte range")
    ranges = [_one_range(part, size) for part in parts]
    if len(ranges) > 1:
        return None  # several ranges: the whole file (no multipart answers)
    (only,) = ranges
    if only is None:
        raise Unsatisfiable(f"the range {parts[0]!r} is outside the file's {size} bytes")
    return only


def _one_range(text: str, size: int) -> tuple[int, int] | None:
    """One ``first-last`` / ``first-`` / ``-suffix``; None when not satisfiable."""
    match = _BYTE_RANGE.fullmatch(text)
    if match is None or match[0] == "-":
        raise Unsatisfiable(f"malformed byte range {text!r}")
    first, last = match[1], match[2]
    if not first:  # the last `last` bytes
        suffix = _position(last)
        return (max(0, size - suffix), size - 1) if suffix > 0 else None
    start = _position(first)
    end = _position(last) if last else size - 1
    if end < start:
        raise Unsatisfiable(f"malformed byte range {text!r} (its end is before its start)")
    return (start, min(end, size - 1)) if start < size else None


def _position(digits: str) -> int:
    """A byte position of a Range header; a number beyond any file is :data:`_FAR`."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _FAR


def _matches(etags: tuple[ETag, ...], value: str, *, weak: bool) -> bool:
    return any(
        tag.value == ETAG_ANY or (tag.value == value and (weak or not tag.is_weak)) for tag in etags
    )


def _second(modified: float) -> int:
    """The ``Last-Modified`` second aiohttp writes for ``modified`` (rounded up)."""
    return math.ceil(modified)


def precondition(request: web.Request, etag: str, modified: float) -> int | None:
    """412, 304 or None (go on), from the conditional headers (RFC 9110, 13.2.2):
    an entity-tag condition, when present, overrides the date one."""
    second = _second(modified)
    if_match, if_none_match = request.if_match, request.if_none_match
    unmodified, modified_since = request.if_unmodified_since, request.if_modified_since
    if if_match is not None and not _matches(if_match, etag, weak=False):
        return 412
    if if_match is None and unmodified is not None and second > unmodified.timestamp():
        return 412
    if if_none_match is not None:
        return 304 if _matches(if_none_match, etag, weak=True) else None
    if modified_since is not None and second <= modified_since.timestamp():
        return 304
    return None


def range_applies(request: web.Request, etag: str, modified: float) -> bool:
    """False when ``If-Range`` says the client's copy is of another version."""
    raw = request.headers.get("If-Range")
    if raw is None:
        return True
    raw = raw.strip()
    if raw.startswith('"'):
        return raw == f'"{etag}"'  # strong comparison
    if raw.startswith("W/"):
        return False  # a weak tag never matches here
    date = request.if_range
    return date is not None and int(date.timestamp()) == _second(modified)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=headers)


async def send_file(request: web.Request, fd: int, name: str) -> web.StreamResponse:
    """Answer ``request`` with the file open as ``fd`` (read with ``pread``; the
    caller closes it), as an attachment called ``name``."""
    st = os.fstat(fd)
    size, modified = st.st_size, st.st_mtime
    etag = f"{st.st_mtime_ns:x}-{size:x}"
    verdict = precondition(request, etag, modified)
    if verdict == 412:
        return _error(412, "precondition_failed", "the file is not the version the request names")
    response = web.StreamResponse(status=200)
    response.etag, response.last_modified = etag, modified
    if verdict == 304:
        response.set_status(304)
        await response.prepare(request)
        return response
    selected: tuple[int, int] | None = None
    if range_applies(request, etag, modified):
        try:
            selected = byte_range(request.headers.get("Range"), size)
        except Unsatisfiable as exc:
            return _error(
                416, "range_not_satisfiable", str(exc), {"Content-Range": f"bytes */{size}"}
            )
    first, last = selected or (0, size - 1)
    if selected is not None:
        response.set_status(206)
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response.content_length = max(0, last - first + 1)
    await response.prepare(request)
    if request.method != "HEAD":
        await _copy(fd, first, last - first + 1, response)
    await response.write_eof()
    return response


async def _copy(fd: int, offset: int, count: int, response: web.StreamResponse) -> None:
    """``count`` bytes from ``offset``, read in a thread (the disk may be slow)."""
    loop = asyncio.get_running_loop()
    while count > 0:
        chunk = await loop.run_in_executor(None, os.pread, fd, min(CHUNK, count), offset)
        if not chunk:
            break  # the file shrank meanwhile: the client sees a short body
        await response.write(chunk)
        offset += len(chunk)
        count -= len(chunk)
