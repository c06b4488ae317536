"""Regressions of the SDP/ICE fuzzer's findings (docs/security.md, "Fuzzing"),
each driven through a real server with real aiortc offers and answers.

- An offer whose first ``m=`` line is gone (its ``a=mid:0`` then stands at
  session level, while ``a=group:BUNDLE 0 1`` still names it) left aiortc's
  peer connection without a transport: "Task exception was never retrieved"
  from its connect task, ``internal_error``, and a failed clean-up at
  disconnect. Such offers, and the other shapes that did the same, are
  refused with ``invalid_sdp``.
- A connection address that is no IP address (``c=``, ``a=rtcp``) was kept by
  aiortc, which then failed whenever the description was read back: the
  publish (or a later ``publisher_ice`` / ``subscriber_ice``) answered
  ``internal_error``.
- A trickled candidate whose host is a DNS name was silently dropped by
  aioice and acknowledged as taken; it is ``invalid_candidate`` now. An mDNS
  name (``<uuid>.local``, what browsers send) is taken: aioice resolves it.

Like the SDP fuzzer, this module gives the server's ICE agent candidates, so
it runs only inside the private network namespace of scripts/test.sh.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from signaling_client import SignalingClient

# private_network: the autouse fixture that skips this module outside the
# private namespace; the real offer and answer the fuzzer mutates too.
from security.test_fuzz_sdp import (
    private_network,  # noqa: F401
    real_answer,
    real_offer,
)

MakeMember = Callable[..., Awaitable[SignalingClient]]

SOURCES = {"0": "microphone", "1": "camera"}
GOOD_CANDIDATE = "candidate:1 1 udp 2130706431 10.199.0.1 9 typ host"


def without_first_media_line(sdp: str) -> str:
    lines = sdp.split("\r\n")
    del lines[next(i for i, line in enumerate(lines) if line.startswith("m="))]
    return "\r\n".join(lines)


def bundle_led_by_unknown_mid(sdp: str) -> str:
    return re.sub(r"a=group:BUNDLE ", "a=group:BUNDLE 7 ", sdp, count=1)


def shared_mid(sdp: str) -> str:
    return sdp.replace("a=mid:1", "a=mid:0")


def host_name_connection(sdp: str) -> str:
    return re.sub(r"c=IN IP4 \S+", "c=IN IP4 media.example.org", sdp)


def host_name_rtcp(sdp: str) -> str:
    return re.sub(r"a=rtcp:9 IN IP4 \S+", "a=rtcp:9 IN IP4 media.example.org", sdp)


def server_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The server's errors and tracebacks so far (asyncio's "Task exception
    was never retrieved" comes when the task is collected: collect first)."""
    gc.collect()
    return [
        f"{r.name}: {r.getMessage()[:300]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def leave_and_settle(member: SignalingClient) -> None:
    """Disconnect (the server closes the member's transports) and let the
    server's tasks of that finish."""
    await member.close()
    await asyncio.sleep(0.5)


# --- offers that left aiortc half made ------------------------------------------------------


@pytest.mark.parametrize(
    "mangle",
    [without_first_media_line, bundle_led_by_unknown_mid, shared_mid],
    ids=["first m-line gone", "BUNDLE led by an unknown mid", "two m-sections share a mid"],
)
@pytest.mark.parametrize("sources", [{"1": "camera"}, {"0": "microphone"}], ids=["cam", "mic"])
async def test_an_offer_aiortc_cannot_bundle_is_refused_and_leaves_nothing_behind(
    make_member: MakeMember,
    caplog: pytest.LogCaptureFixture,
    mangle: Callable[[str], str],
    sources: dict[str, str],
) -> None:
    offer = mangle(await real_offer())
    ada = await make_member("Ada", room="bundle")
    error = await ada.error_of("publish", {"sdp": offer, "sources": sources})
    assert error["code"] == "invalid_sdp", error
    # Ada can still publish a proper offer, and leaving cleans up.
    assert (await ada.call("publish", {"sdp": await real_offer(), "sources": SOURCES}))["ok"]
    await leave_and_settle(ada)
    assert server_failures(caplog) == []


# --- connection addresses that are no IP address ------------------------------------------


@pytest.mark.parametrize(
    "mangle", [host_name_connection, host_name_rtcp], ids=["c= line", "a=rtcp address"]
)
async def test_an_offer_with_a_host_name_as_connection_address_is_refused(
    make_member: MakeMember, caplog: pytest.LogCaptureFixture, mangle: Callable[[str], str]
) -> None:
    ada = await make_member("Ada", room="address")
    error = await ada.error_of("publish", {"sdp": mangle(await real_offer()), "sources": SOURCES})
    assert error["code"] == "invalid_sdp", error
    # Nothing was applied: a candidate now has no description to go with.
    error = await ada.error_of("publisher_ice", {"candidate": GOOD_CANDIDATE, "sdp_mid": "0"})
    assert error["code"] == "invalid_state", error
    await leave_and_settle(ada)
    assert server_failures(caplog) == []


async def subscriber_with_offer(make_member: MakeMember) -> tuple[SignalingClient, dict[str, Any]]:
    """A receiving member of a room where Ada publishes, and its first offer."""
    ada = await make_member("Ada", room="answers")
    await ada.call("publish", {"sdp": await real_offer(), "sources": SOURCES})
    bob = await make_member("Bob", room="answers", receive=True)
    offer: dict[str, Any] = await bob.wait_event(
        "subscriber_offer", lambda o: "m=video" in o["sdp"], timeout=15
    )
    return bob, offer


@pytest.mark.parametrize(
    "mangle",
    [host_name_connection, host_name_rtcp, bundle_led_by_unknown_mid],
    ids=["c= line", "a=rtcp address", "BUNDLE led by an unknown mid"],
)
async def test_a_subscriber_answer_aiortc_cannot_use_is_refused_and_later_candidates_answered(
    make_member: MakeMember, caplog: pytest.LogCaptureFixture, mangle: Callable[[str], str]
) -> None:
    bob, offer = await subscriber_with_offer(make_member)
    answer = mangle(await real_answer(offer["sdp"]))
    error = await bob.error_of("subscriber_answer", {"revision": offer["revision"], "sdp": answer})
    assert error["code"] == "invalid_sdp", error
    ack = await bob.sio.call(
        "subscriber_ice", {"candidate": GOOD_CANDIDATE, "sdp_mid": "0"}, timeout=10
    )
    assert ack["ok"] or ack["error"]["code"] != "internal_error", ack
    await leave_and_settle(bob)
    assert server_failures(caplog) == []


# --- trickled candidates whose host is no address -------------------------------------------

HOST_NAMES = ["not-an-ip", "localhost", "media.example.org", "name.invalid"]


@pytest.mark.parametrize("host", HOST_NAMES)
async def test_a_trickled_publisher_candidate_with_a_host_name_is_invalid(
    make_member: MakeMember, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    ada = await make_member("Ada", room="names")
    await ada.call("publish", {"sdp": await real_offer(), "sources": SOURCES})
    candidate = f"candidate:1 1 udp 2130706431 {host} 9 typ host"
    error = await ada.error_of("publisher_ice", {"candidate": candidate, "sdp_mid": "0"})
    assert error["code"] == "invalid_candidate", error
    assert "not an IP address" in error["message"]
    # An address is still taken.
    await ada.call("publisher_ice", {"candidate": GOOD_CANDIDATE, "sdp_mid": "0"})
    await leave_and_settle(ada)
    assert server_failures(caplog) == []


@pytest.mark.parametrize("host", HOST_NAMES[:2])
async def test_a_trickled_subscriber_candidate_with_a_host_name_is_invalid(
    make_member: MakeMember, host: str
) -> None:
    bob, offer = await subscriber_with_offer(make_member)
    answer = await real_answer(offer["sdp"])
    await bob.call("subscriber_answer", {"revision": offer["revision"], "sdp": answer})
    candidate = f"candidate:1 1 udp 2130706431 {host} 9 typ host"
    error = await bob.error_of("subscriber_ice", {"candidate": candidate, "sdp_mid": "0"})
    assert error["code"] == "invalid_candidate", error


async def test_a_trickled_mdns_candidate_is_taken(make_member: MakeMember) -> None:
    # Browsers hide local addresses behind <uuid>.local names; aioice resolves
    # them on the server's link and drops them elsewhere, as a browser would.
    ada = await make_member("Ada", room="mdns")
    await ada.call("publish", {"sdp": await real_offer(), "sources": SOURCES})
    candidate = "candidate:1 1 udp 2130706431 0a1b2c3d-aaaa-bbbb-cccc-000000000000.local 9 typ host"
    assert (await ada.call("publisher_ice", {"candidate": candidate, "sdp_mid": "0"}))["ok"]
