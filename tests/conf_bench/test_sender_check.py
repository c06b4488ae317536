"""conf-bench: a wrong census says what the load generator's publishers did."""

from __future__ import annotations

from typing import Any

from conf_bench.sender_check import sender_problems


def sender(pid: str, camera: int = 30, voice: int = 3, **states: Any) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "camera_sent": camera,
        "voice_sent": voice,
        "refused": states.pop("refused", 0),
        "failures": states.pop("failures", []),
        "dtls": states.pop("dtls", "connected"),
        "ice": states.pop("ice", "completed"),
        "subscribe": states.pop("subscribe", "connected"),
        "signaling": states.pop("signaling", "up"),
    }


def test_publishers_that_sent_nothing_are_named_with_their_connections() -> None:
    index_of = {"a": 0, "b": 1, "c": 2, "d": 3}
    senders = [
        sender("a", camera=0, voice=0, dtls="closed", ice="closed", subscribe="failed"),
        sender("b", camera=0, voice=0, dtls="closed", ice="closed", subscribe="failed"),
        sender("c", voice=0, failures=["ValueError: packet is too long"]),
        sender("d"),
        sender("stranger", camera=0),  # not in this meeting's index: ignored
    ]
    assert sender_problems(senders, index_of, 1.0) == [
        "load generator: the camera and microphone of 2 participants sent nothing "
        "in 1 s (publish dtls closed, ice closed; receive failed): 0, 1",
        "load generator: the microphone of 1 participant sent nothing in 1 s (publish "
        "dtls connected, ice completed; task ended: ValueError: packet is too long): 2",
    ]


def test_refused_sends_and_a_lost_signaling_socket_are_said() -> None:
    senders = [sender("a", refused=4), sender("b", signaling="transport close")]
    assert sender_problems(senders, {"a": 0, "b": 1}, 1.0) == [
        "load generator: 1 participant publish dtls connected, ice completed; "
        "signaling transport close: 1",
        "load generator: the send path refused packets of 1 participant (not "
        "connected or a full socket): 0",
    ]


def test_healthy_publishers_give_no_reason() -> None:
    assert sender_problems([sender("a"), sender("b")], {"a": 0, "b": 1}, 1.0) == []
