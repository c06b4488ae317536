"""The join timeline (sfu/timeline.py, the ``join_timeline`` setting): the
server's steps of a real join with wall-clock times, read by
scripts/bench_join.py; nothing of it when it is off."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from media_peers import alice_sends_to_bob

from sfu import timeline

LINE = re.compile(r"^timeline (\d+\.\d) (\S+) (.+)$")


def steps_of(caplog: pytest.LogCaptureFixture) -> list[tuple[float, str, str]]:
    found = []
    for record in caplog.records:
        if record.name == "conf.timeline":
            match = LINE.match(record.getMessage())
            assert match, record.getMessage()
            found.append((float(match[1]), match[2], match[3]))
    return found


async def test_a_join_logs_its_steps_in_order(server, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="conf.timeline")
    before = time.time() * 1000
    alice, bob = await alice_sends_to_bob(make_client, "timeline", 5)

    steps = steps_of(caplog)
    assert all(before <= at <= time.time() * 1000 for at, _, _ in steps)
    of_bob = [what for _, who, what in steps if who == bob.participant_id]
    # Bob joined before Alice published: no offer before his acknowledgement,
    # the one with her tracks after it.
    expected = [
        "admitted as",
        "join: subscriber added",
        "join: first offer out",
        "subscriber: offer 1 sent",
        "subscriber: answer 1 received",
        "subscriber: answer 1 applied",
        "subscriber: DTLS connected",
    ]
    positions = [next(i for i, w in enumerate(of_bob) if w.startswith(e)) for e in expected]
    assert positions == sorted(positions), of_bob
    sid = of_bob[0].removeprefix("admitted as ")
    of_socket = [what for _, who, what in steps if who == sid]
    assert of_socket[:2] == ["join received", "join acknowledged"], of_socket
    of_alice = [what for _, who, what in steps if who == alice.participant_id]
    assert "publish received" in of_alice and "publish answered" in of_alice
    started = of_alice.index("video: a subscriber starts on layer 0")
    assert "video layer 0: keyframe received" in of_alice[:started], of_alice


async def test_nothing_is_logged_when_it_is_off(server, make_client, caplog):
    caplog.set_level(logging.INFO, logger="conf.timeline")
    await alice_sends_to_bob(make_client, "quiet", 2)
    assert steps_of(caplog) == []
    assert not timeline.enabled()


async def test_the_watchdog_logs_a_stall_of_the_event_loop(caplog):
    caplog.set_level(logging.DEBUG, logger="conf.timeline")
    watchdog = asyncio.create_task(timeline.watch_stalls())
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # noqa: ASYNC251 (the stall being shown: the loop runs nothing else)
    await asyncio.sleep(0.05)
    watchdog.cancel()
    of_loop = [what for _, who, what in steps_of(caplog) if who == "loop"]
    lengths = [int(m[1]) for m in (re.match(r"stalled (\d+) ms$", w) for w in of_loop) if m]
    assert max(lengths, default=0) >= 250, of_loop
    # The sampler saw where the loop was stuck: in this test's sleep.
    stuck = [w for w in of_loop if w.startswith("stuck ")]
    assert any("test_join_timeline.py" in w for w in stuck), of_loop
