"""A newcomer's video reaches a viewer whose view has room for it before the
viewer's page has named it (``set_view``'s ``later``, docs/protocol.md): the
page's round trip (participant_joined → its gallery → set_view) is not waited
for. Only as many newcomers as the view has room for; someone who was already
here and is off the page stays off it.

Real aiortc clients (conf_bench's, replaying pre-encoded VP8) and the real
server; packets counted at the SFU's consumers of the viewer."""

from __future__ import annotations

import asyncio

import pytest

from conf_bench.client import BenchClient
from conf_bench.media import prepared_media

ROOM = "later"


@pytest.fixture(scope="module")
def bench_media(tmp_path_factory):
    return prepared_media(tmp_path_factory.mktemp("bench-media"))


def video_sent(server, viewer_id: str) -> dict[str, int]:
    """Video packets the SFU sent the viewer so far, by publisher."""
    consumers = server.service.media[ROOM].subscribers[viewer_id].consumers
    return {
        c.producer.app_data["participant_id"]: c.packets_sent
        for c in consumers.values()
        if c.kind == "video"
    }


async def eventually(predicate, timeout: float = 20.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 (state of the server, no event to wait on)
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def join_publishing(server, bench_media, name: str, clients: list[BenchClient]) -> str:
    client = BenchClient(server.url, name, bench_media)
    clients.append(client)
    await client.join(ROOM, video=True, audio=False, receive=False)
    return client.participant_id


@pytest.mark.parametrize("later", [0, 1])
async def test_a_newcomer_is_forwarded_to_a_view_with_room_for_it(server, bench_media, later):
    clients: list[BenchClient] = []
    try:
        shown = await join_publishing(server, bench_media, "shown", clients)
        off_page = await join_publishing(server, bench_media, "off-page", clients)
        viewer = BenchClient(server.url, "viewer", bench_media)
        clients.append(viewer)
        await viewer.join(ROOM, video=False, audio=False, receive=True)
        await viewer.set_view([shown], later=later)
        await eventually(lambda: video_sent(server, viewer.participant_id).get(shown, 0) > 0)

        first = await join_publishing(server, bench_media, "first", clients)
        second = await join_publishing(server, bench_media, "second", clients)
        # Both newcomers' consumers exist and have had time to start.
        await eventually(lambda: {first, second} <= set(video_sent(server, viewer.participant_id)))
        if later:
            await eventually(lambda: video_sent(server, viewer.participant_id)[first] > 0)
        else:
            await asyncio.sleep(1.5)
        await asyncio.sleep(1.0)
        sent = video_sent(server, viewer.participant_id)
        # With room for one: the first newcomer, not the second (no room
        # left), nor someone who was here and off the page.
        assert (sent[first] > 0) == bool(later), sent
        assert sent[second] == 0, sent
        assert sent[off_page] == 0, sent
        assert sent[shown] > 0

        # The viewer's next view is what counts from then on.
        await viewer.set_view([shown, second])
        await eventually(lambda: video_sent(server, viewer.participant_id)[second] > 0)
        before = video_sent(server, viewer.participant_id)
        await asyncio.sleep(1.0)
        after = video_sent(server, viewer.participant_id)
        assert {pid for pid in after if after[pid] > before[pid]} == {shown, second}
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
