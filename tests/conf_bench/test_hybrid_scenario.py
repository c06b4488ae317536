"""conf-bench's hybrid-meeting scenario, one small step: a real conf-server and
load generator (separate processes, ICE on 127.0.0.1), 11 participants each
publishing a three-layer simulcast camera and an Opus microphone with audio
levels (3 talking, the rest silent as with DTX), every third one in the
acoustic zone, each showing a 9-tile page.

Checks what the capacity figure rests on, not how fast anything is: every
receiver got exactly its 9 tiles' video and exactly the voices it should hear
(at most K = 3: the talkers outside its zone, never its own), nothing was lost
on the receivers' side or dropped by the server, and the variant over two
workers (real redis-server, ``--workers 2``) either says why it is not
available or measured a step of its own.

A busy shared machine can hold the server's core so long that its sockets
overflow (the scenario then reports packets that never reached the server,
UDP buffer errors, or the server ``starved``: its event loop late at low
CPU). Then only what no lack of CPU can cause is checked: nobody gets more
than its page of videos or more than K voices. Everything else is checked
whenever the media reached the server, except the server's count of
publisher packets it gave up repairing: it also counts, late, what a busy
machine lost while the meeting was still joining.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conf_bench import report
from conf_bench.hybrid_scenario import (
    MAX_LOSS_PERCENT,
    NAME,
    PAGE,
    STARVED,
    K,
    audible_talkers,
    census_problems,
    hybrid_capacity,
)
from conf_bench.scenarios import Context

pytestmark = [pytest.mark.media, pytest.mark.timeout(300)]

PARTICIPANTS = 11  # ten others: a full 9-tile page for everyone


def test_who_hears_whom() -> None:
    """Talkers are participants 0 (the room device, in the zone), 1 and 2."""
    assert [audible_talkers(i, PARTICIPANTS) for i in range(6)] == [2, 2, 2, 2, 3, 3]
    assert audible_talkers(0, 1) == 0
    census = [{"participant_id": "a", "video": PAGE, "audio": 3}]
    assert census_problems(census, PARTICIPANTS, {"a": 4}) == []
    assert census_problems(census, PARTICIPANTS, {"a": 3}) == [
        "participant 3: 9 videos (want 9), 3 voices (want 2)"
    ]


def check_step(row: dict[str, Any], lines: list[str]) -> None:
    """What one measured step of 11 participants must show."""
    assert row["participants"] == PARTICIPANTS
    assert [index for index, _, _ in row["census"]] == list(range(PARTICIPANTS))
    assert all(videos <= PAGE and voices <= K for _, videos, voices in row["census"])
    assert row["delivered_pps"] > 0
    assert row["expected_pps"] > 0
    starved = any(reason.startswith(STARVED) for reason in row["reasons"])
    flowed = (
        row["inbound_loss_percent"] < MAX_LOSS_PERCENT
        and row["kernel_udp_errors"] == 0
        and not starved
    )
    if flowed:
        assert row["peer_connections"] == 2 * PARTICIPANTS
        assert not [r for r in row["reasons"] if r.startswith("census")], row["reasons"]
        assert row["loss_percent"] < MAX_LOSS_PERCENT, lines
        assert row["server_dropped"] == 0, lines


async def test_small_meeting_gets_its_page_and_talkers_without_loss(
    media_cache_dir: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    ctx = Context(tmp_path / "work", media_cache_dir, window_s=1.5, log=lines.append)

    # Long enough for dynacast to pause the layers nobody takes (10 s): the
    # window then carries the steady meeting, not three layers per camera.
    result = await hybrid_capacity(ctx, [PARTICIPANTS], settle_s=11.0)

    (row,) = result.figures["one_worker"]
    assert len(row["worker_cpu_percent"]) == 1
    check_step(row, lines)

    if result.figures.get("two_workers"):
        (spread,) = result.figures["two_workers"]
        assert len(spread["worker_cpu_percent"]) == 2
        check_step(spread, lines)
    elif "two_workers" in result.figures:  # spanning exists, the meeting did not grow
        assert any(note.startswith("spread: N=") for note in result.notes), result.notes
    else:
        reason = result.figures["two_workers_unavailable"]
        assert reason.startswith("not available")
        assert result.figures["knee_two_workers"] is None
        assert any("not available" in note for note in result.notes)

    results = {NAME: result}
    summary = report.summarize(results)
    assert "hybrid_knee_one_worker" in summary
    assert '"one_worker"' in report.markdown(results, summary)
