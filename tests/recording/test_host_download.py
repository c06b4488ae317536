"""Hosts download their meeting's recordings through signed links, when the
deployment allows it; everyone else needs an admin key."""

from __future__ import annotations

import dataclasses
import time

import aiohttp
from aiohttp.test_utils import TestServer
from running_server import RunningServer
from signaling_client import SignalingClient

from conf_server import create_app
from recording.timeline import TIMELINE_FILE


async def recorded_meeting(server: RunningServer) -> tuple[SignalingClient, SignalingClient]:
    host, guest = SignalingClient(server.url, "Hana"), SignalingClient(server.url, "Gus")
    for client in (host, guest):
        await client.connect()
        await client.join("dl")
    await host.call("recording", {"action": "start"})
    await host.call("chat_send", {"text": "on the record"})
    await host.call("recording", {"action": "stop"})
    return host, guest


async def fetch(server: RunningServer, url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(server.url + url) as response:
        return response.status, await response.read()


async def test_a_host_gets_signed_links_that_open_one_file_each(settings):
    allowed = dataclasses.replace(settings, recording_host_download=True)
    test_server = TestServer(create_app(allowed), host="127.0.0.1")
    await test_server.start_server()
    server = RunningServer(test_server)
    host = guest = None
    try:
        host, guest = await recorded_meeting(server)
        ack = await host.call("recording_links")
        (recording,) = ack["recordings"]
        timeline = next(f for f in recording["files"] if f["name"] == TIMELINE_FILE)
        status, body = await fetch(server, timeline["url"])
        directory = server.service.recording.library.directory(recording["id"])
        assert status == 200 and body == (directory / TIMELINE_FILE).read_bytes()
        assert b"on the record" in body
        # The token opens that file only, and not once changed or expired.
        other = timeline["url"].replace(TIMELINE_FILE, "recording.json")
        assert (await fetch(server, other))[0] in (401, 404)
        token = timeline["url"].split("download_token=")[1]
        expires, signature = token.split(".")
        forged = timeline["url"].replace(token, f"{int(expires) + 3600}.{signature}")
        assert (await fetch(server, forged))[0] == 401
        links = server.service.download_links
        stale = links.token(recording["id"], TIMELINE_FILE, now=time.time() - 7200)
        stale_url = timeline["url"].split("?")[0] + f"?download_token={stale}"
        assert (await fetch(server, stale_url))[0] == 401
        # Without a token it is admins only.
        assert (await fetch(server, timeline["url"].split("?")[0]))[0] == 401
        # Participants get no links.
        error = await guest.error_of("recording_links")
        assert error["code"] == "forbidden"
    finally:
        for client in (host, guest):
            if client is not None:
                await client.close()
        await test_server.close()


async def test_by_default_only_admins_download(server):
    host, guest = await recorded_meeting(server)
    try:
        error = await host.error_of("recording_links")
        assert error["code"] == "forbidden" and "administrators" in error["message"]
    finally:
        await host.close()
        await guest.close()


async def test_the_meeting_report_lists_its_recordings(server):
    from api_client import call
    from server_keys import ADMIN_KEY

    host, guest = await recorded_meeting(server)
    try:
        meeting_id = host.meeting["meeting_id"]
        status, report = await call(server, "GET", f"/meetings/{meeting_id}/report", ADMIN_KEY)
        assert status == 200
        (recording,) = report["recordings"]
        assert recording["meeting_id"] == meeting_id and recording["state"] == "ready"
    finally:
        await host.close()
        await guest.close()
