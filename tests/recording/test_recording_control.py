"""Recording control over Socket.IO and REST, the policy, the quota, and the
admin routes for recordings (no media here; see test_room_recorder.py)."""

from __future__ import annotations

from typing import Any

import aiohttp
from running_server import RunningServer, running
from server_keys import ADMIN_KEY
from signaling_client import SignalingClient

from recording.library import RecordingLibrary


async def member(server: RunningServer, name: str, room: str) -> SignalingClient:
    client = SignalingClient(server.url, name)
    await client.connect()
    await client.join(room)
    return client


async def api(
    server: RunningServer, method: str, path: str, key: str | None = ADMIN_KEY, **kwargs: Any
) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}/api/v1{path}", headers=headers, **kwargs) as r,
    ):
        body = await r.json() if r.content_type == "application/json" else await r.read()
        return r.status, body, r.headers


async def test_hosts_control_recording_and_everyone_is_told(server, make_member):
    host = await make_member("Hana", room="rec-ctl")
    guest = await make_member("Gus", room="rec-ctl")
    assert host.meeting["recording"] is None

    assert (await guest.error_of("recording", {"action": "start"}))["code"] == "forbidden"
    assert (await host.error_of("recording", {"action": "pause"}))["code"] == "not_recording"
    assert (await host.error_of("recording", {"action": "rewind"}))["code"] == "invalid_payload"

    ack = await host.call("recording", {"action": "start"})
    assert ack["recording"]["state"] == "recording"
    changed = await guest.wait_event("recording_changed")
    assert changed == {"recording": ack["recording"], "by": "Hana"}
    assert (await host.error_of("recording", {"action": "start"}))["code"] == "already_recording"

    # Someone joining now learns it from the join acknowledgement, before publishing.
    late = await make_member("Lee", room="rec-ctl")
    assert late.meeting["recording"]["state"] == "recording"

    assert (await host.call("recording", {"action": "pause"}))["recording"]["state"] == "paused"
    await late.wait_event("recording_changed", lambda d: d["recording"]["state"] == "paused")
    assert (await host.call("recording", {"action": "resume"}))["recording"]["state"] == (
        "recording"
    )
    assert (await host.call("recording", {"action": "stop"}))["recording"] is None
    await guest.wait_event("recording_changed", lambda d: d["recording"] is None)

    (record,) = server.service.recording.library.recordings()
    assert record["state"] == "ready" and record["room"] == "rec-ctl"
    assert len(record["pauses"]) == 1


async def test_policy_disabled_refuses_and_automatic_records_from_the_first_join(settings):
    async with running(settings, recording_policy="disabled") as server:
        host = await member(server, "Hana", "off")
        assert (await host.error_of("recording", {"action": "start"}))["code"] == (
            "recording_disabled"
        )
        await host.close()

    async with running(settings, recording_policy="automatic") as server:
        host = await member(server, "Hana", "auto")
        assert host.meeting["recording"]["state"] == "recording"
        await host.call("recording", {"action": "stop"})
        other = await member(server, "Olga", "auto")
        assert other.meeting["recording"] is None  # a host stopped it: not restarted
        # Nor by a node that did not see the stop (a new owner of the room
        # after a handover or a failure): the meeting state says so, and it
        # is the one record of the stop.
        third = await member(server, "Tom", "auto")
        assert third.meeting["recording"] is None
        await third.close()
        await host.close()
        await other.close()
        (record,) = server.service.recording.library.recordings()
        assert record["state"] == "ready"


async def test_a_join_that_read_the_meeting_before_a_stop_does_not_record_again(settings):
    """A join reads the meeting state, then awaits other work before it
    looks at the recording: a host's stop may come in between. The join
    then holds a state that still says "recording" (which a new owner of the
    room would continue) and "not stopped" (which ``automatic`` would start):
    neither may start the stopped recording again."""
    async with running(settings, recording_policy="automatic") as server:
        host = await member(server, "Hana", "stale")
        assert host.meeting["recording"]["state"] == "recording"
        control, store = server.service.recording, server.service.store
        before_stop = await store.get("stale")
        assert before_stop is not None and before_stop.recording is not None
        await host.call("recording", {"action": "stop"})
        await control.room_entered(before_stop)  # that join, looking now
        assert control.status("stale") is None
        after = await store.get("stale")
        assert after is not None and after.recording is None and after.recording_stopped
        await host.close()
        assert len(control.library.recordings()) == 1


async def test_rest_control_of_a_meetings_recording(server, make_member):
    host = await make_member("Hana", room="rest-rec")
    meeting_id = host.meeting["meeting_id"]
    status, created, _ = await api(
        server, "POST", "/admin/keys", json={"name": "chat", "scope": "integration"}
    )
    assert status == 201
    key = created["key"]
    path = f"/meetings/{meeting_id}/recording"

    assert (await api(server, "POST", path, key=None, json={"action": "start"}))[0] == 401
    assert (await api(server, "POST", path, key=key, json={"action": "fly"}))[0] == 400
    assert (await api(server, "POST", "/meetings/nope/recording", json={"action": "start"}))[
        0
    ] == 404
    status, body, _ = await api(server, "POST", path, key=key, json={"action": "start"})
    assert status == 200 and body["recording"]["state"] == "recording"
    await host.wait_event("recording_changed")
    status, body, _ = await api(server, "GET", f"/meetings/{meeting_id}", key=key)
    assert body["recording"]["state"] == "recording"
    status, body, _ = await api(server, "POST", path, key=key, json={"action": "start"})
    assert (status, body["error"]["code"]) == (409, "already_recording")
    status, body, _ = await api(server, "POST", path, key=key, json={"action": "stop"})
    assert status == 200 and body["recording"] is None
    # Integration keys do not see recordings; admin keys do.
    assert (await api(server, "GET", "/recordings", key=key))[0] == 403
    status, body, _ = await api(server, "GET", f"/recordings?meeting_id={meeting_id}")
    assert status == 200 and [r["state"] for r in body["recordings"]] == ["ready"]


def fake_recording(library: RecordingLibrary, content: bytes) -> str:
    record = library.create({"meeting_id": "m1", "room": "r1", "title": "t"})
    directory = library.directory(record["id"])
    assert directory is not None
    (directory / "track-001-camera.webm").write_bytes(content)
    record["state"] = "ready"
    library.save(record)
    return str(record["id"])


async def test_admins_list_get_download_and_delete_recordings(server):
    library = server.service.recording.library
    content = bytes(range(256)) * 40
    recording_id = fake_recording(library, content)
    assert len(recording_id) >= 22

    assert (await api(server, "GET", "/recordings", key=None))[0] == 401
    status, body, _ = await api(server, "GET", "/recordings")
    assert status == 200 and body["recordings"][0]["id"] == recording_id
    status, body, _ = await api(server, "GET", f"/recordings/{recording_id}")
    assert body["size"] == len(content)
    assert body["files"] == [{"name": "track-001-camera.webm", "size": len(content)}]

    url = f"/recordings/{recording_id}/files/track-001-camera.webm"
    assert (await api(server, "GET", url, key=None))[0] == 401
    status, data, headers = await api(server, "GET", url)
    assert status == 200 and data == content and headers["Content-Type"] == "video/webm"
    etag = headers["ETag"]
    status, data, headers = await api(server, "GET", url, headers={"Range": "bytes=100-199"})
    assert status == 206 and data == content[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    status, _, _ = await api(server, "GET", url, headers={"If-None-Match": etag})
    assert status == 304

    for bad in (
        f"/recordings/{recording_id}/files/recording.json",
        f"/recordings/{recording_id}/files/..%2Frecording.json",
        f"/recordings/{recording_id}/files/%2Fetc%2Fpasswd",
        "/recordings/..%2F..%2F..%2Fetc/files/passwd",
        f"/recordings/{recording_id}/files/missing.webm",
        "/recordings/short/files/track-001-camera.webm",
        "/recordings/..",
    ):
        status, _, _ = await api(server, "GET", bad)
        assert status in (400, 404), (bad, status)

    status, body, _ = await api(server, "DELETE", f"/recordings/{recording_id}")
    assert status == 200 and body == {"id": recording_id, "deleted": True}
    assert (await api(server, "GET", f"/recordings/{recording_id}"))[0] == 404
    assert (await api(server, "DELETE", f"/recordings/{recording_id}"))[0] == 404


async def test_a_start_is_refused_when_the_storage_quota_is_used_up(settings):
    async with running(settings, recording_quota_bytes=1000) as server:
        fake_recording(server.service.recording.library, b"x" * 1000)
        host = await member(server, "Hana", "full")
        error = await host.error_of("recording", {"action": "start"})
        assert error["code"] == "recording_quota_exceeded"
        assert "full" in error["message"]
        status, body, _ = await api(
            server,
            "POST",
            f"/meetings/{host.meeting['meeting_id']}/recording",
            json={"action": "start"},
        )
        assert (status, body["error"]["code"]) == (507, "recording_quota_exceeded")
        await host.close()


def test_a_recording_left_unfinished_is_marked_incomplete_never_deleted(tmp_path):
    library = RecordingLibrary(tmp_path, retention_days=30)
    unfinished = library.create({"room": "r"})["id"]
    finished = fake_recording(library, b"data")
    elsewhere = library.create({"room": "r", "node": "other-node"})["id"]
    assert library.recover("this-node") == [unfinished]
    assert library.get(elsewhere)["state"] == "recording"  # another node's, still running
    assert library.recover() == [elsewhere]
    assert library.get(unfinished)["state"] == "incomplete"
    assert library.get(finished)["state"] == "ready"
    assert library.purge_expired() == []
    assert sorted(library.purge_expired(now=10**12)) == sorted([unfinished, finished, elsewhere])


async def test_the_recording_ends_for_good_when_the_meeting_empties(server, make_member):
    """The meeting state keeps whether the meeting records (so a node that
    takes a room over records on); the last person leaving clears it, so
    whoever opens the meeting again finds it not recording."""
    host = await make_member("Hana", room="rec-empty")
    assert (await host.call("recording", {"action": "start"}))["recording"] is not None
    await host.call("leave")
    again = await make_member("Hana", room="rec-empty")
    assert again.meeting["recording"] is None
    status, body, _ = await api(server, "GET", f"/meetings/{again.meeting['meeting_id']}")
    assert status == 200 and body["recording"] is None
