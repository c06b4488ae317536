"""One room across nodes (issue 17, point 3) works as a room on one node:
polls and questionnaires answered on both nodes (each vote counted once, the
tallies seen by the hosts on both), host controls for everyone (mute all
with the lock, stop media), the lobby (guests waiting on either node, let
in or turned away by a host on the other), ending the meeting from either
node, a camera turned off and on again on one node stopping and resuming
on the other, and a simulcast camera whose layers a viewer on the other
node switches between. Real ``conf-server`` nodes with media relays, a real
``redis-server``, Socket.IO clients and aiortc peers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from deployment import NodeClient, NodeProcess, RefusedError, http, metric, until
from media_node_client import MediaNodeClient
from media_peers import CounterVideoTrack, ToneAudioTrack, collect_counters, is_increasing
from spanning_support import (
    SPANNING,
    FrameClock,
    join_in_turn,
    loads_shown,
    metrics,
    participants_of,
    two_on_each,
)

from conf_bench.client import BenchClient
from conf_bench.media import prepared_layers, prepared_media

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]

QUESTIONS = [
    {"kind": "single", "prompt": "Which day?", "options": ["Mon", "Tue"]},
    {"kind": "rating", "prompt": "How was it?"},
]


def tally(poll: dict[str, Any]) -> tuple[int, dict[str, int]] | None:
    """(voters, votes per option) of a Poll with results, else None."""
    results = poll.get("results")
    if not results:
        return None
    return results["voters"], {o["id"]: o["votes"] for o in results["options"]}


def questionnaire_tally(item: dict[str, Any]) -> tuple[int, dict[str, int], float] | None:
    """(respondents, votes per option of q1, mean of q2) of a Questionnaire."""
    results = item.get("results")
    if not results:
        return None
    day, rating = results["questions"]
    return results["respondents"], {o["id"]: o["votes"] for o in day["options"]}, rating["mean"]


async def everybody_sees(people: list[NodeClient], count: int) -> None:
    for person in people:
        try:
            await person.wait_for(lambda person=person: len(person.participants) == count, 10)
        except TimeoutError:
            seen = {p.name: sorted(q["name"] for q in p.participants.values()) for p in people}
            raise AssertionError(f"{person.name} does not see {count}: {seen}") from None


async def ended_everywhere(nodes: list[NodeProcess], room: str) -> None:
    """Nobody is left of ``room`` on any node."""

    async def empty() -> bool:
        for node in nodes:
            _, body = await http(node.url, "GET", f"/api/v1/rooms/{room}")
            if body["participants"] or await participants_of(node.url) != 0:
                return False
        return True

    await until(empty)


async def test_polls_questionnaires_and_host_controls_across_nodes_and_a_co_host_there_ends_it(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    people = await two_on_each(NodeClient, [a.url, b.url], "agenda", clients)
    ada, bob, cy, dee = people
    await everybody_sees(people, 4)
    # Ada (node-a) hosts; Dee, on node-b, is her co-host.
    await ada.call("set_role", {"participant_id": dee.participant_id, "role": "co_host"})
    await dee.wait_for(lambda: dee.participants[dee.participant_id]["role"] == "co_host")

    # -- a poll: made on node-a, voted on both, each vote counted once ----------------
    poll = (
        await ada.call("poll_create", {"question": "Lunch?", "options": ["Pizza", "Soup", "Salad"]})
    )["poll"]
    poll_id = poll["poll_id"]
    pizza, soup, salad = (option["id"] for option in poll["options"])
    await ada.call("poll_launch", {"poll_id": poll_id})
    for person in people:
        await person.wait_event(
            "poll_changed",
            lambda d: d["poll"]["poll_id"] == poll_id and d["poll"]["state"] == "open",
        )
    choice = {"Ada": pizza, "Bob": soup, "Cy": soup, "Dee": salad}
    acks = await asyncio.gather(
        *(p.call("poll_vote", {"poll_id": poll_id, "option_ids": [choice[p.name]]}) for p in people)
    )
    for person, ack in zip(people, acks, strict=True):
        assert ack["poll"]["voted"] is True and ack["poll"]["my_choice"] == [choice[person.name]]
    # Cy (node-b) changes his vote: in a named poll it replaces the first.
    await cy.call("poll_vote", {"poll_id": poll_id, "option_ids": [pizza]})
    expected = (4, {pizza: 2, soup: 1, salad: 1})
    # The live results reach the hosts on both nodes, whichever node counted.
    for moderator in (ada, dee):
        await moderator.wait_event(
            "poll_changed",
            lambda d: d["poll"]["poll_id"] == poll_id and tally(d["poll"]) == expected,
        )
    await dee.call("poll_share", {"poll_id": poll_id})  # the co-host on node-b shares
    await ada.call("poll_close", {"poll_id": poll_id})
    for person in people:
        closed = await person.wait_event(
            "poll_changed",
            lambda d: d["poll"]["poll_id"] == poll_id and d["poll"]["state"] == "closed",
        )
        assert tally(closed["poll"]) == expected, person.name

    # -- a questionnaire: made on node-b, answered on both, a sheet replaced ----------
    made = await dee.call("questionnaire_create", {"title": "Offsite", "questions": QUESTIONS})
    qid = made["questionnaire"]["questionnaire_id"]
    await dee.call("questionnaire_launch", {"questionnaire_id": qid})
    sheets = {
        "Ada": {"q1": "o1", "q2": 5},
        "Bob": {"q1": "o2", "q2": 4},
        "Cy": {"q1": "o2", "q2": 3},
        "Dee": {"q1": "o2", "q2": 4},
    }
    await asyncio.gather(
        *(
            p.call("questionnaire_answer", {"questionnaire_id": qid, "answers": sheets[p.name]})
            for p in people
        )
    )
    # Cy changes his mind: his one sheet is replaced, not added.
    await cy.call(
        "questionnaire_answer", {"questionnaire_id": qid, "answers": {"q1": "o1", "q2": 5}}
    )
    final = (4, {"o1": 2, "o2": 2}, 4.5)
    for moderator in (ada, dee):
        await moderator.wait_event(
            "questionnaire_changed",
            lambda d: (
                d["questionnaire"]["questionnaire_id"] == qid
                and questionnaire_tally(d["questionnaire"]) == final
            ),
        )
    await ada.call("questionnaire_share", {"questionnaire_id": qid})
    for person in (bob, cy):
        await person.wait_event(
            "questionnaire_changed",
            lambda d: (
                d["questionnaire"]["questionnaire_id"] == qid
                and questionnaire_tally(d["questionnaire"]) == final
            ),
        )

    # -- host controls from node-b: mute all with the lock; stop media from node-a ----
    await dee.call("mute_all", {"lock": True})
    for person in (bob, cy):
        muted = await person.wait_event("muted_by_host", lambda d: d["source"] == "microphone")
        assert muted["locked"] is True and muted["by"] == "Dee", (person.name, muted)
    for person in people:
        await person.wait_for(
            lambda person=person: all(
                person.participants[p.participant_id]["audio_muted"]
                and person.participants[p.participant_id]["mic_locked"]
                for p in (bob, cy)
            ),
            timeout=5,
        )
        # Hosts and co-hosts are not muted.
        assert not person.participants[ada.participant_id]["audio_muted"]
        assert not person.participants[dee.participant_id]["audio_muted"]
    assert (await bob.error_of("mute", {"source": "microphone", "muted": False}))[
        "code"
    ] == "mic_locked"
    await ada.call("stop_media", {"participant_id": cy.participant_id, "source": "camera"})
    await cy.wait_event("muted_by_host", lambda d: d["source"] == "camera" and d["by"] == "Ada")
    for person in people:
        await person.wait_for(
            lambda person=person: person.participants[cy.participant_id]["video_muted"], timeout=5
        )

    # -- the co-host on node-b ends the meeting: everybody on both nodes is out --------
    for person in people:
        person.auto_rejoin = False
    await dee.call("end_meeting")
    for person in people:
        await person.wait_event("meeting_ended", lambda d: d["by"] == "Dee")
        await person.wait_for(lambda person=person: person.sio is None, timeout=5)
    await ended_everywhere([a, b], "agenda")
    late = NodeClient(b.url, "Lou")
    clients.append(late)
    with pytest.raises(RefusedError) as refused:
        await late.join("agenda")
    assert refused.value.code == "meeting_ended"


async def test_the_lobby_across_nodes_and_the_host_ends_the_meeting_for_both(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    nodes = [a.url, b.url]
    ada, bob = NodeClient(a.url, "Ada"), NodeClient(a.url, "Bob")
    clients.extend([ada, bob])
    await join_in_turn([ada, bob], "waiting", nodes)
    await ada.call("configure_meeting", {"lobby_enabled": True})

    def waits(*names: str) -> Callable[[Any], bool]:
        return lambda d: [entry["name"] for entry in d["lobby"]] == list(names)

    async def guest(entry: str, name: str) -> tuple[NodeClient, str]:
        client = NodeClient(entry, name)
        clients.append(client)
        ack = await client.join("waiting")
        assert ack["waiting"] is True, ack
        return client, ack["lobby_id"]

    # Cy waits on node-b (node-a is full), which hosts nobody of the room yet:
    # the host on node-a sees him waiting, and lets him in from there.
    cy, cy_entry = await guest(a.url, "Cy")
    assert cy.url == b.url
    await ada.wait_event("lobby_changed", waits("Cy"))
    await asyncio.sleep(1.5)  # as a host would: heartbeat rounds pass meanwhile
    await ada.call("admit", {"lobby_id": cy_entry})
    await cy.wait_event("lobby_admitted")
    members = [ada, bob, cy]
    await everybody_sees(members, 3)
    await ada.call("set_role", {"participant_id": cy.participant_id, "role": "co_host"})
    await loads_shown(nodes, 3)

    # Dee waits on node-b too: both moderators see her; Cy lets her in there.
    dee, dee_entry = await guest(a.url, "Dee")
    assert dee.url == b.url
    for moderator in (ada, cy):
        await moderator.wait_event("lobby_changed", waits("Dee"))
    await cy.call("admit", {"lobby_id": dee_entry})
    await dee.wait_event("lobby_admitted")
    members.append(dee)
    await everybody_sees(members, 4)
    await loads_shown(nodes, 4)

    # Both nodes are full: Eve waits on node-a, her entry; the co-host on
    # node-b sees her and lets her in there.
    eve, eve_entry = await guest(a.url, "Eve")
    assert eve.url == a.url
    await cy.wait_event("lobby_changed", waits("Eve"))
    await cy.call("admit", {"lobby_id": eve_entry})
    await eve.wait_event("lobby_admitted")
    members.append(eve)
    await everybody_sees(members, 5)
    assert eve.participants[eve.participant_id]["name"] == "Eve"

    # Fay waits on node-b; the host on node-a turns her away.
    fay, fay_entry = await guest(b.url, "Fay")
    assert fay.url == b.url
    await ada.wait_event("lobby_changed", waits("Fay"))
    await ada.call("deny", {"lobby_id": fay_entry})
    assert (await fay.wait_event("lobby_denied"))["code"] == "denied"
    for moderator in (ada, cy):
        await moderator.wait_for(lambda m=moderator: m.last("lobby_changed")["lobby"] == [])

    # Gus waits on node-b when the host on node-a ends the meeting: he is
    # turned away, and everybody on both nodes is out.
    gus, _ = await guest(b.url, "Gus")
    await cy.wait_event("lobby_changed", waits("Gus"))
    for person in members:
        person.auto_rejoin = False
    await ada.call("end_meeting")
    assert (await gus.wait_event("lobby_denied"))["code"] == "meeting_ended"
    for person in members:
        await person.wait_event("meeting_ended", lambda d: d["by"] == "Ada")
        await person.wait_for(lambda person=person: person.sio is None, timeout=5)
    await ended_everywhere([a, b], "waiting")


async def test_a_camera_turned_off_and_on_on_one_node_stops_and_resumes_on_the_other(
    start_nodes: StartNodes, clients: list[Any]
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    # Only Cy (node-b) receives: he watches Ada's camera, relayed from node-a.
    people = await two_on_each(
        MediaNodeClient, [a.url, b.url], "pause", clients, [False, False, True, False]
    )
    ada, _bob, cy, _dee = people
    await ada.publish({"camera": CounterVideoTrack(), "microphone": ToneAudioTrack(440.0)})
    await cy.wait_for(lambda: cy.track_of(ada.participant_id, "camera") is not None, timeout=20)
    await collect_counters(cy.track_of(ada.participant_id, "camera"), 5, timeout=20)
    clock = FrameClock(cy.track_of(ada.participant_id, "camera"))

    def frames_since(moment: float) -> list[int]:
        return [counter for at, counter in clock.frames if at >= moment]

    try:
        for turn in range(2):  # twice: nothing is left stuck by the first
            await ada.call("mute", {"source": "camera", "muted": True})
            await cy.wait_for(lambda: cy.participants[ada.participant_id]["video_muted"], timeout=5)
            await asyncio.sleep(0.5)  # what was on its way
            quiet_from = time.monotonic()
            await asyncio.sleep(1.5)
            assert frames_since(quiet_from) == [], f"turn {turn}: frames came while paused"
            # The track still crosses (paused), it is not torn down.
            assert metric(await metrics(a.url), "conf_relay_tracks_out") == 2
            await ada.call("mute", {"source": "camera", "muted": False})
            resumed_at = time.monotonic()
            await cy.wait_for(
                lambda: not cy.participants[ada.participant_id]["video_muted"], timeout=5
            )

            async def flowing(resumed_at: float = resumed_at) -> bool:
                return len(frames_since(resumed_at)) >= 10

            await until(flowing, timeout=10)
            # (The first may be the last frame from before the pause, which
            # this process's receiver held back until packets came again.)
            fresh = frames_since(resumed_at)[-9:]
            assert is_increasing(fresh), frames_since(resumed_at)
    finally:
        clock.stop()


# -- simulcast over the relay --------------------------------------------------------


async def shown_height(track: Any, seconds: float = 1.0) -> int:
    """The height of the frames a received video has after ``seconds`` of it."""
    height = 0

    async def read() -> None:
        nonlocal height
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline or not height:
            height = (await track.recv()).height

    await asyncio.wait_for(read(), timeout=20)
    return height


async def reaches_height(track: Any, height: int, within: float = 15.0) -> None:
    """Read a received video until its frames are ``height`` tall (at most
    ``within`` s: a step up waits for a keyframe and for the receiver's
    bandwidth estimate to allow it)."""

    async def read() -> None:
        while (await track.recv()).height != height:
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), within)


async def test_simulcast_crosses_the_relay_and_a_viewer_on_the_other_node_switches_layers(
    start_nodes: StartNodes, clients: list[Any], bench_media_dir: Path
) -> None:
    a, b = await start_nodes("node-a", "node-b", **SPANNING)
    nodes = [a.url, b.url]
    media, layered = prepared_media(bench_media_dir), prepared_layers(bench_media_dir)
    # Ada publishes three pre-encoded VP8 layers (180p, 360p, 720p, a
    # keyframe every 2 s) on node-a, where nobody watches; Cy watches her
    # from node-b and decodes what he gets.
    ada = BenchClient(a.url, "Ada", media, layered)
    bob = NodeClient(a.url, "Bob")
    cy = MediaNodeClient(a.url, "Cy")
    clients.extend([ada, bob, cy])
    await ada.join("layers", video=True, audio=False, receive=False, camera="simulcast")
    await loads_shown(nodes, 1)
    await bob.join("layers")
    await loads_shown(nodes, 2)
    await cy.join("layers")
    assert (ada.url, cy.base_url) == (a.url, b.url)
    await cy.wait_for(lambda: cy.track_of(ada.participant_id, "camera") is not None, timeout=20)
    track = cy.track_of(ada.participant_id, "camera")

    async def viewing(height: int) -> int:
        """Cy's tile of Ada is ``height`` device pixels: the height of the
        frames he gets once the layer has switched (at a keyframe)."""
        await cy.call(
            "set_view", {"video": [ada.participant_id], "sizes": {ada.participant_id: height}}
        )
        await reaches_height(track, height)  # at a keyframe, once the estimate allows
        return await shown_height(track, 1.0)

    # Cy gets the layer his tile needs, relayed from the other node, up and
    # down again (which layers the relay carries: tests/sfu/test_relay_layers.py).
    assert [await viewing(height) for height in (180, 720, 360, 180)] == [180, 720, 360, 180]
    assert metric(await metrics(a.url), "conf_relay_tracks_out") == 1
