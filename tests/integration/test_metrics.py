"""/metrics exports what the SFU is doing, in Prometheus text format."""

from __future__ import annotations

import aiohttp
from media_peers import alice_sends_to_bob
from prometheus_client.parser import text_string_to_metric_families


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name + (f"{{le={sample.labels['le']}}}" if "le" in sample.labels else "")
            values[key] = sample.value
    return values


async def test_metrics_count_rooms_tracks_and_forwarded_packets(server, make_client):
    idle = await scrape(server.url)
    assert idle["conf_rooms"] == 0 and idle["conf_rtp_packets_forwarded_total"] == 0
    assert "process_cpu_seconds_total" in idle and "conf_event_loop_lag_seconds" in idle

    await alice_sends_to_bob(make_client, "metrics", 20)

    busy = await scrape(server.url)
    assert busy["conf_rooms"] == 1 and busy["conf_participants"] == 2
    assert busy["conf_producers"] == 2 and busy["conf_consumers"] == 2
    assert busy["conf_peer_connections"] == 3
    assert busy["conf_rtp_packets_received_total"] > 20
    assert 0 < busy["conf_rtp_packets_forwarded_total"] <= busy["conf_rtp_packets_received_total"]
    assert busy["conf_forwarding_latency_seconds_count"] > 0
    assert (
        busy["conf_forwarding_latency_seconds_bucket{le=+Inf}"]
        == (busy["conf_forwarding_latency_seconds_count"])
    )
