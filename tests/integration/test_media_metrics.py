"""What operators see of media quality: the per-room debug endpoint
(``GET /api/v1/admin/rooms/{room}/media``) and the node-wide media-quality
families of ``/metrics``, with real aiortc peers through the real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from api_client import call
from media_peers import CounterVideoTrack, ToneAudioTrack
from openapi_schemas import OpenApiSchemas
from prometheus_client.parser import text_string_to_metric_families
from server_keys import ADMIN_KEY

from conf_bench.client import BenchClient

#: Generous: a loaded 2-core machine may take long to connect twenty peers.
WAIT = 60.0
SUBSCRIBERS = 20
NEW_FAMILIES = {
    "conf_subscriber_downlink_estimate_bits_per_second",
    "conf_subscriber_downlink_loss_ratio",
    "conf_subscriber_rtt_seconds",
    "conf_subscribers_without_remb",
    "conf_subscribers_video_paused",
    "conf_video_consumers_bandwidth_paused",
    "conf_video_consumers_by_layer",
    "conf_layer_switches",
    "conf_rtp_retransmissions_refused",
    "conf_publisher_uplink_loss_ratio",
    "conf_received_layer_bitrate_bits_per_second",
    "conf_video_producers_by_live_layers",
    "conf_rtp_rtx_packets_received",
    "conf_rtp_nack_repairs_failed",
    "conf_rtp_nack_repairs_recovered",
    "conf_rtp_nacks_sent",
}


async def poll(fetch: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool]) -> Any:
    """``fetch()`` again until ``ready`` says its result will do (or WAIT passes)."""

    async def loop() -> Any:
        while True:
            value = await fetch()
            if ready(value):
                return value
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(loop(), WAIT)


async def scrape(server: Any) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Family name -> its samples (name, labels, value)."""
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    for samples in families.values():
        for name, found, number in samples:
            if name == sample and found == labels:
                return float(number)
    raise AssertionError(f"no sample {sample} {labels}")


def label_sets(families: dict[str, Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every distinct (sample name, labels) of the server's own families."""
    return {
        (name, tuple(sorted(labels.items())))
        for family, samples in families.items()
        if family.startswith("conf_")
        for name, labels, _ in samples
    }


async def room_media(server: Any, room: str, key: str | None = ADMIN_KEY) -> tuple[int, Any]:
    return await call(server, "GET", f"/admin/rooms/{room}/media", key=key)


async def test_room_media_is_for_admin_keys_only(server, make_member):
    await make_member("Ada", room="private")
    status, body = await room_media(server, "private", key=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await room_media(server, "private", key="not-a-key")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, created = await call(
        server,
        "POST",
        "/admin/keys",
        ADMIN_KEY,
        json={"name": "app", "scope": "integration"},
    )
    assert status == 201
    status, body = await room_media(server, "private", key=created["key"])
    assert status == 403 and body["error"]["code"] == "forbidden"


async def test_room_media_of_an_unknown_room_is_not_found(server):
    status, body = await room_media(server, "nobody-here")
    assert status == 404 and body["error"]["code"] == "room_not_found"
    status, body = await room_media(server, "bad.name")
    assert status == 400 and body["error"]["code"] == "invalid_room"


def camera_consumer(report: dict[str, Any], viewer: str, owner: str) -> dict[str, Any] | None:
    for subscriber in report["subscribers"]:
        if subscriber["participant_id"] == viewer:
            for consumer in subscriber["consumers"]:
                if consumer["participant_id"] == owner and consumer["source"] == "camera":
                    return consumer  # type: ignore[no-any-return]
    return None


async def test_room_media_shows_the_publishers_layers_and_the_subscribers_consumers(
    server, make_client
):
    alice, bob = await make_client("Alice"), await make_client("Bob")
    await alice.join("debug")
    await bob.join("debug")
    await alice.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})

    async def fetch() -> dict[str, Any]:
        status, body = await room_media(server, "debug")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def forwarding(report: dict[str, Any]) -> bool:
        consumer = camera_consumer(report, bob.participant_id, alice.participant_id)
        return consumer is not None and consumer["packets_sent"] > 10

    report = await poll(fetch, forwarding)
    await validate_against_openapi(server, report)
    assert report["room"] == "debug"

    publisher = next(p for p in report["publishers"] if p["participant_id"] == alice.participant_id)
    camera = next(p for p in publisher["producers"] if p["source"] == "camera")
    assert camera["kind"] == "video" and camera["codec"].lower() == "video/vp8"
    (layer,) = camera["layers"]  # aiortc publishes one layer (no simulcast)
    assert layer["bitrate"] > 0 and layer["ssrc"] is not None
    assert layer["packets_received"] > 0 and layer["keyframes"] >= 1
    assert (layer["width"], layer["height"]) == (320, 240)  # the test camera's frame size
    microphone = next(p for p in publisher["producers"] if p["source"] == "microphone")
    assert microphone["layers"][0]["nacked"] is not None  # audio is repaired by NACK too

    consumer = camera_consumer(report, bob.participant_id, alice.participant_id)
    assert consumer is not None
    assert consumer["current_layer"] == 0 and consumer["target_layer"] == 0
    assert not consumer["hidden"] and not consumer["bandwidth_paused"]
    subscriber = next(s for s in report["subscribers"] if s["participant_id"] == bob.participant_id)
    assert subscriber["estimate"] > 0
    # A clean loopback link: nothing paused, so nothing tried above the estimate.
    assert subscriber["probe"] == {"active": False, "successes": 0, "failures": 0}

    # One participant only: Bob publishes nothing, Alice receives nothing of note.
    status, only_bob = await call(
        server,
        "GET",
        f"/admin/rooms/debug/media?participant={bob.participant_id}",
        ADMIN_KEY,
    )
    assert status == 200
    assert only_bob["publishers"] == []
    assert [s["participant_id"] for s in only_bob["subscribers"]] == [bob.participant_id]


async def validate_against_openapi(server: Any, report: dict[str, Any]) -> None:
    """The report has the shape the served OpenAPI document promises."""
    status, document = await call(server, "GET", "/openapi.json")
    assert status == 200
    schemas = OpenApiSchemas(document)
    schemas.check(report, schemas.response_schema("/api/v1/admin/rooms/{room}/media", "get", 200))


@pytest.mark.timeout(300)  # twenty peer connections on a busy 2-core machine
async def test_metrics_label_sets_stay_the_same_when_twenty_subscribers_join(server, make_client):
    url = server.url
    # Subscribers that count packets without decoding them; they publish
    # nothing, so they need no prepared media.
    first = BenchClient(url, "first", None)
    crowd = [BenchClient(url, f"viewer-{i}", None) for i in range(SUBSCRIBERS)]
    gate = asyncio.Semaphore(5)

    async def join(client: BenchClient) -> None:
        async with gate:
            await client.join("crowd", video=False, audio=False, receive=True)

    def forwarded(count: int) -> Callable[[Any], bool]:
        return lambda families: value(families, "conf_video_consumers_by_layer", layer="0") >= count

    try:
        publisher = await make_client("Publisher")
        await publisher.join("crowd", receive=False)
        await publisher.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack()})
        await join(first)
        small = await poll(lambda: scrape(server), forwarded(1))
        assert set(small) >= NEW_FAMILIES, NEW_FAMILIES - set(small)
        assert value(small, "conf_subscriber_downlink_estimate_bits_per_second_count") == 1
        assert value(small, "conf_video_producers_by_live_layers", live_layers="1") == 1
        assert value(small, "conf_received_layer_bitrate_bits_per_second_count", layer="0") == 1

        await asyncio.gather(*(join(client) for client in crowd))
        large = await poll(lambda: scrape(server), forwarded(1 + SUBSCRIBERS))
        # Each subscriber is counted, in histograms over the node ...
        subscribers = 1 + SUBSCRIBERS
        assert (
            value(large, "conf_subscriber_downlink_estimate_bits_per_second_count") == subscribers
        )
        assert value(large, "conf_subscriber_downlink_loss_ratio_count") == subscribers
        # ... and not one new series appeared for them.
        assert label_sets(large) == label_sets(small)
        layer_labels = {labels["layer"] for _, labels, _ in large["conf_video_consumers_by_layer"]}
        assert layer_labels == {"0", "1", "2", "3"}
    finally:
        for client in (first, *crowd):
            await client.close()
