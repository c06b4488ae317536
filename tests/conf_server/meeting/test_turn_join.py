"""The join acknowledgement's ICE servers when TURN is configured: each
participant gets its own short-lived TURN REST credentials, new ones on every
resume, and the shared secret never reaches a client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time

from meeting_client import MeetingClient
from running_server import running

SECRET = "join-test-turn-secret-0123456789"
URLS = (
    "stun:turn.example.test:3478",
    "turn:turn.example.test:3478?transport=udp",
    "turns:turn.example.test:443?transport=tcp",
)


def turn_entry(ack: dict) -> dict:
    (entry,) = [s for s in ack["ice_servers"] if s["urls"] != URLS[0]]
    return entry


async def test_each_join_and_resume_gets_fresh_turn_credentials(settings):
    async with running(
        settings, ice_servers=URLS, turn_secret=SECRET, turn_credential_seconds=600
    ) as server:
        alice = MeetingClient(server.url, "Alice")
        await alice.connect()
        try:
            ack = await alice.join("turn-room")
            assert {"urls": URLS[0]} in ack["ice_servers"]
            entry = turn_entry(ack)
            assert entry["urls"] == list(URLS[1:])
            expiry, user = entry["username"].split(":")
            assert user == ack["participant_id"]
            assert 0 < int(expiry) - time.time() <= 600 + 1
            # What coturn computes with the shared secret (use-auth-secret):
            expected = hmac.new(SECRET.encode(), entry["username"].encode(), hashlib.sha1)
            assert entry["credential"] == base64.b64encode(expected.digest()).decode()
            assert SECRET not in repr(ack)

            await asyncio.sleep(1.1)  # a later second: a later expiry
            again = MeetingClient(server.url, "Alice")
            await again.connect()
            try:
                resumed = await again.join("turn-room", resume_token=ack["resume_token"])
                assert resumed["resumed"] is True
                renewed = turn_entry(resumed)
                assert int(renewed["username"].split(":")[0]) > int(expiry)
                assert renewed["credential"] != entry["credential"]
            finally:
                await again.close()
        finally:
            await alice.close()


async def test_without_turn_the_join_hands_out_the_stun_urls_only(settings):
    async with running(settings, ice_servers=URLS[:1]) as server:
        bob = MeetingClient(server.url, "Bob")
        await bob.connect()
        try:
            ack = await bob.join("stun-room")
            assert ack["ice_servers"] == [{"urls": URLS[0]}]
        finally:
            await bob.close()
