"""Recording files: symbolic links are never listed or served; a broken
``recording.json`` or database file gives a clear error for that item (or a
clear start-up message), never a traceback that stops the server; downloads
follow RFC 9110's range and conditional requests, also when another node
relays them."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from deployment import NodeProcess, http, registry
from redis_server import RedisServer
from server_keys import ADMIN_KEY

from conf_server import create_app
from recording.library import RecordingLibrary

CONTENT = bytes(range(256)) * 40  # 10240 bytes
TRACK = "track-001-camera.webm"


def fake_recording(library: RecordingLibrary, content: bytes = CONTENT, **meta: Any) -> str:
    record = library.create({"meeting_id": "m1", "room": "r1", "title": "t", **meta})
    directory = library.directory(record["id"])
    assert directory is not None
    (directory / TRACK).write_bytes(content)
    record["state"] = "ready"
    library.save(record)
    return str(record["id"])


async def get(
    base_url: str, path: str, method: str = "GET", **headers: str
) -> tuple[int, bytes, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_KEY}", **headers}) as s,
        s.request(method, f"{base_url}/api/v1{path}") as response,
    ):
        return response.status, await response.read(), response.headers


# -- 14: symbolic links and broken metadata ------------------------------------------------------


async def test_a_symlink_in_a_recording_is_neither_listed_nor_served(server, tmp_path):
    library = server.service.recording.library
    recording_id = fake_recording(library)
    directory = library.directory(recording_id)
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:the secret outside the recordings\n")
    (directory / "leak.webm").symlink_to(outside)
    (directory / "passwd.webm").symlink_to("/etc/passwd")

    status, body, _ = await get(server.url, f"/recordings/{recording_id}")
    assert status == 200
    assert [f["name"] for f in json.loads(body)["files"]] == [TRACK]
    assert json.loads(body)["size"] == len(CONTENT)
    for name in ("leak.webm", "passwd.webm"):
        status, data, _ = await get(server.url, f"/recordings/{recording_id}/files/{name}")
        assert status == 404 and b"secret" not in data and b"root:" not in data


async def test_a_listed_file_swapped_for_a_symlink_is_not_followed(server, tmp_path):
    library = server.service.recording.library
    recording_id = fake_recording(library)
    directory = library.directory(recording_id)
    outside = tmp_path / "secret.txt"
    outside.write_text("the secret outside the recordings")
    # A link put where a listed file was: the open itself refuses to follow it.
    (directory / TRACK).unlink()
    (directory / TRACK).symlink_to(outside)
    assert library.open_file(recording_id, TRACK) is None
    status, data, _ = await get(server.url, f"/recordings/{recording_id}/files/{TRACK}")
    assert status == 404 and b"secret" not in data


async def test_a_symlinked_recording_directory_is_ignored(server, tmp_path):
    library = server.service.recording.library
    real = fake_recording(library)
    elsewhere = tmp_path / "elsewhere"
    other = RecordingLibrary(elsewhere)
    foreign = fake_recording(other)
    (library.root / foreign).symlink_to(elsewhere / foreign, target_is_directory=True)

    status, body, _ = await get(server.url, "/recordings")
    assert status == 200
    assert [r["id"] for r in json.loads(body)["recordings"]] == [real]
    assert (await get(server.url, f"/recordings/{foreign}"))[0] == 404
    assert (await get(server.url, f"/recordings/{foreign}/files/{TRACK}"))[0] == 404
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as s,
        s.delete(f"{server.url}/api/v1/recordings/{foreign}") as response,
    ):
        assert response.status == 404
    assert (elsewhere / foreign / TRACK).exists()  # nothing deleted through the link


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "does not hold a JSON object"),
        (b'{"id": "someone-else-entirely", "state": "ready"}', "names another recording"),
        (None, "unknown state"),  # valid JSON, a state nobody knows
        (None, "started_at is not a number"),
        (None, "pauses is not a list"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
async def test_a_malformed_recording_json_is_one_failed_item_and_the_rest_lists_fine(
    server, content, reason
):
    library = server.service.recording.library
    good = fake_recording(library)
    broken = fake_recording(library)
    metadata = library.directory(broken) / "recording.json"
    if content is None:
        data = json.loads(metadata.read_text())
        if "state" in reason:
            data["state"] = "exploded"
        elif "started_at" in reason:
            data["started_at"] = "yesterday"
        else:
            data["pauses"] = [["a", "b", "c"]]
        content = json.dumps(data).encode()
    metadata.write_bytes(content)

    status, body, _ = await get(server.url, "/recordings")
    assert status == 200, body
    listed = {r["id"]: r for r in json.loads(body)["recordings"]}
    assert set(listed) == {good, broken}
    assert listed[good]["state"] == "ready" and "metadata_error" not in listed[good]
    assert listed[broken]["state"] == "failed"
    assert reason in listed[broken]["metadata_error"]
    assert [f["name"] for f in listed[broken]["files"]] == [TRACK]
    status, body, _ = await get(server.url, f"/recordings/{broken}")
    assert status == 200 and reason in json.loads(body)["metadata_error"]
    # An admin can still fetch its files and delete it.
    assert (await get(server.url, f"/recordings/{broken}/files/{TRACK}"))[1] == CONTENT
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as s,
        s.delete(f"{server.url}/api/v1/recordings/{broken}") as response,
    ):
        assert response.status == 200
    assert not library.directory(broken).exists()


def test_a_symlinked_recording_json_is_a_failed_item_never_read(tmp_path):
    library = RecordingLibrary(tmp_path / "recordings")
    recording_id = fake_recording(library)
    metadata = library.directory(recording_id) / "recording.json"
    target = tmp_path / "other.json"
    target.write_text(metadata.read_text())
    metadata.unlink()
    metadata.symlink_to(target)
    record = library.get(recording_id)
    assert record is not None and record["state"] == "failed"
    assert record["metadata_error"] == "recording.json is a symbolic link"
    with pytest.raises(Exception, match="symbolic link"):
        library.save(record)  # never written over: the admin decides
    assert metadata.is_symlink()


async def test_a_server_with_a_malformed_recording_json_starts_and_recovers_the_rest(settings):
    library = RecordingLibrary(settings.recordings_dir)
    unfinished = library.create({"room": "r", "node": settings.node_name})["id"]
    broken = fake_recording(library)
    left = {"id": broken, "state": "recording", "started_at": 1.0, "pauses": 7}
    (library.directory(broken) / "recording.json").write_text(json.dumps(left))
    # At start the server marks what a dead process left unfinished: the
    # broken file must not stop it (nor the start).
    test_server = TestServer(await asyncio.to_thread(create_app, settings), host="127.0.0.1")
    await test_server.start_server()
    try:
        assert library.get(unfinished)["state"] == "incomplete"
        assert library.get(broken)["state"] == "failed"
        url = str(test_server.make_url("")).rstrip("/")
        status, body, _ = await get(url, "/recordings")
        assert status == 200 and len(json.loads(body)["recordings"]) == 2
    finally:
        await test_server.close()


def test_a_corrupt_database_stops_the_start_with_one_clear_line(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "conf.sqlite3").write_bytes(b"this is not SQLite at all " * 200)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "conf_server", "--data-dir", str(data_dir), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("conf-server: the database ")
    assert "conf.sqlite3 is damaged or not an SQLite file" in lines[0]


# -- 15: ranges and conditions -----------------------------------------------------------------


@pytest.fixture
async def download(server) -> AsyncIterator[Any]:
    recording_id = fake_recording(server.service.recording.library)
    path = f"/recordings/{recording_id}/files/{TRACK}"

    async def fetch(method: str = "GET", **headers: str) -> tuple[int, bytes, Any]:
        return await get(server.url, path, method, **headers)

    yield fetch


async def test_a_suffix_range_of_zero_bytes_is_not_satisfiable(download):
    status, body, headers = await download(Range="bytes=-0")
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(CONTENT)}"
    assert json.loads(body)["error"]["code"] == "range_not_satisfiable"


@pytest.mark.parametrize(
    "header, status, part",
    [
        ("bytes=100-199", 206, (100, 199)),
        ("bytes=10000-", 206, (10000, 10239)),
        ("bytes=-240", 206, (10000, 10239)),
        ("bytes=-99999", 206, (0, 10239)),  # longer than the file: all of it
        ("bytes=10200-99999", 206, (10200, 10239)),  # clipped at the end
        ("BYTES = 0-0", 206, (0, 0)),
        ("bytes=10240-", 416, None),  # starts at the end
        ("bytes=99999-100000", 416, None),
        ("bytes=5-3", 416, None),  # malformed: the end before the start
        ("bytes=abc", 416, None),
        ("bytes=-", 416, None),
        ("bytes=", 416, None),
        ("items=0-5", 200, None),  # a unit we do not know: ignored
    ],
)
async def test_single_ranges_follow_rfc_9110(download, header, status, part):
    got, body, headers = await download(Range=header)
    assert got == status, (header, body[:200])
    size = len(CONTENT)
    if status == 206:
        first, last = part
        assert body == CONTENT[first : last + 1]
        assert headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    elif status == 416:
        assert headers["Content-Range"] == f"bytes */{size}"
        assert json.loads(body)["error"]["code"] == "range_not_satisfiable"
    else:
        assert body == CONTENT and "Content-Range" not in headers


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "bytes=0-9, -5", "bytes=0-,0-"])
async def test_several_ranges_always_get_the_whole_file(download, header):
    status, body, headers = await download(Range=header)
    assert status == 200 and body == CONTENT and "Content-Range" not in headers
    assert headers["Accept-Ranges"] == "bytes"


async def test_if_range_with_the_current_etag_gives_the_range_and_any_other_the_whole_file(
    download,
):
    status, body, headers = await download()
    assert status == 200 and body == CONTENT
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")

    status, body, _ = await download(Range="bytes=0-9", **{"If-Range": etag})
    assert status == 206 and body == CONTENT[:10]
    for stale in ('"0-0"', f"W/{etag}", "garbage"):
        status, body, headers = await download(Range="bytes=0-9", **{"If-Range": stale})
        assert status == 200 and body == CONTENT, stale
        assert "Content-Range" not in headers
    # A date matches only when it is the Last-Modified itself.
    status, body, _ = await download(Range="bytes=0-9", **{"If-Range": modified})
    assert status == 206 and body == CONTENT[:10]
    older = "Mon, 01 Jan 2001 00:00:00 GMT"
    status, body, _ = await download(Range="bytes=0-9", **{"If-Range": older})
    assert status == 200 and body == CONTENT


async def test_conditional_requests_and_head(download):
    status, _, headers = await download()
    etag = headers["ETag"]
    assert (await download(**{"If-None-Match": etag}))[0] == 304
    assert (await download(**{"If-None-Match": f"W/{etag}"}))[0] == 304  # weak comparison
    assert (await download(**{"If-None-Match": '"other"'}))[0] == 200
    assert (await download(**{"If-Match": etag}))[0] == 200
    status, body, _ = await download(**{"If-Match": '"other"'})
    assert status == 412 and json.loads(body)["error"]["code"] == "precondition_failed"
    status, body, headers = await download("HEAD", Range="bytes=0-9")
    assert status == 206 and body == b"" and headers["Content-Length"] == "10"


# -- 15: the same through another node -----------------------------------------------------------


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess, str]]:
    redis = RedisServer(tmp_path)
    # node-a's recording exists before it starts: its first heartbeat indexes it.
    library = RecordingLibrary(tmp_path / "node-a" / "recordings")
    recording_id = fake_recording(library, node="node-a")
    nodes = [NodeProcess(tmp_path, name, redis.url, "files:") for name in ("node-a", "node-b")]
    try:
        await asyncio.gather(*(node.wait_ready() for node in nodes))
        deadline = time.monotonic() + 15
        while True:
            _, listed = await http(nodes[1].url, "GET", "/api/v1/recordings")
            if any(r["id"] == recording_id for r in listed.get("recordings", [])):
                break
            assert time.monotonic() < deadline, (listed, await registry(nodes[0]))
            await asyncio.sleep(0.2)
        yield nodes[0], nodes[1], recording_id
    finally:
        for node in nodes:
            node.stop()
        redis.stop()


async def test_a_relayed_download_keeps_the_range_and_condition_semantics(two_nodes):
    a, b, recording_id = two_nodes
    path = f"/recordings/{recording_id}/files/{TRACK}"
    status, body, headers = await get(b.url, path)
    assert status == 200 and body == CONTENT
    etag, modified = headers["ETag"], headers["Last-Modified"]
    direct = await get(a.url, path)
    assert direct[2]["ETag"] == etag  # the same file, the same validator

    status, body, headers = await get(b.url, path, Range="bytes=-0")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(CONTENT)}"
    status, body, headers = await get(b.url, path, Range="bytes=-16")
    assert status == 206 and body == CONTENT[-16:]
    assert headers["Content-Range"] == f"bytes 10224-10239/{len(CONTENT)}"
    status, body, _ = await get(b.url, path, Range="bytes=0-9", **{"If-Range": etag})
    assert status == 206 and body == CONTENT[:10]
    status, body, _ = await get(b.url, path, Range="bytes=0-9", **{"If-Range": '"old"'})
    assert status == 200 and body == CONTENT
    status, body, _ = await get(b.url, path, Range="bytes=0-9,20-29")
    assert status == 200 and body == CONTENT
    assert (await get(b.url, path, **{"If-None-Match": etag}))[0] == 304
    assert (await get(b.url, path, **{"If-Match": '"old"'}))[0] == 412
    assert (await get(b.url, path, **{"If-Modified-Since": modified}))[0] == 304
