"""Real browsers in a deployment of two real nodes sharing a real Redis.

The pages follow ``wrong_node`` to the node that hosts their room, get back
into the meeting by themselves when that node is killed (the survivor takes
the room over), and move with it when it drains (``room_moved``).

Nodes are named ``a`` and ``b``: with equal load a new room goes to ``a``
(ties go by name), so pages opened on ``b`` are sent to ``a``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from deployment import NodeProcess, http, room_node
from e2e_helpers import (
    TEST_ADDRESS,
    new_meeting_page,
    screenshot,
    tid,
    tile_frames,
    wait_joined,
    wait_until,
)
from playwright.async_api import Browser, Page, WebSocket, expect
from redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

SEEN = 10_000  # ms a person may wait for something to show up
#: How long after a kill -9 the survivor must host the room (TTL 3 s + a sweep).
TAKEOVER_SECONDS = 10.0

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]
OpenOn = Callable[[NodeProcess, str, str], Awaitable[Page]]


@pytest.fixture
async def start_nodes(test_network: None, tmp_path: Path) -> AsyncIterator[StartNodes]:
    """Start nodes (ICE on the private test address) sharing one redis-server.

    The last node named is the deployment's entry: every node has its URL as
    ``--public-url`` (docs/operations.md: Socket.IO takes pages only from
    ``public_url`` and the node's own URL) and its own URL as ``--node-url``.
    """
    redis = RedisServer(tmp_path)
    prefix = f"e2e{secrets.token_hex(3)}:"
    nodes: list[NodeProcess] = []

    async def start(*names: str, env: dict[str, str] | None = None) -> list[NodeProcess]:
        ports = [free_port() for _ in names]
        entry = f"http://127.0.0.1:{ports[-1]}"
        started = []
        for name, port in zip(names, ports, strict=True):
            url = f"http://127.0.0.1:{port}"
            # A later --port wins over the one NodeProcess picked.
            args = ("--port", str(port), "--public-url", entry, "--node-url", url)
            node = NodeProcess(
                tmp_path, name, redis.url, prefix, ice_address=TEST_ADDRESS, env=env, args=args
            )
            node.port, node.url = port, url
            started.append(node)
        nodes.extend(started)
        await asyncio.gather(*(node.wait_ready() for node in started))
        return started

    yield start
    for node in nodes:
        node.stop()
    redis.stop()


@pytest.fixture
async def open_on(browser: Browser) -> AsyncIterator[OpenOn]:
    """Open ``/r/{room}?name=…&autojoin=1`` on one node's URL (the page's entry)."""
    contexts: list[Any] = []

    async def factory(node: NodeProcess, room: str, name: str) -> Page:
        page = await new_meeting_page(browser, contexts, name)
        record_sockets(page)
        await page.goto(f"{node.url}/r/{room}?name={name}&autojoin=1")
        return page

    yield factory
    for context in contexts:
        await context.close()
    SOCKET_LOG.clear()


#: What each page's Socket.IO websockets did, by page: (time, event, url, payload),
#: event "open", "close" or "room_moved" (a frame carrying it).
SOCKET_LOG: dict[Page, list[tuple[float, str, str, str]]] = {}


def record_sockets(page: Page) -> None:
    """Note every websocket of ``page`` opening and closing, and ``room_moved`` frames."""
    log = SOCKET_LOG.setdefault(page, [])

    def on_socket(ws: WebSocket) -> None:
        log.append((time.monotonic(), "open", ws.url, ""))
        ws.on("close", lambda _: log.append((time.monotonic(), "close", ws.url, "")))

        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"room_moved"' in payload:
                log.append((time.monotonic(), "room_moved", ws.url, payload))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)


async def remote_videos_play(page: Page, expected: int) -> bool:
    """``expected`` remote tiles whose decoded frame counts grow."""
    first = await tile_frames(page)
    if len(first) != expected or not all(first.values()):
        return False
    await asyncio.sleep(0.5)
    second = await tile_frames(page)
    return all(second.get(pid, 0) > frames for pid, frames in first.items())


async def tile_names(page: Page) -> list[str]:
    names: list[str] = await page.eval_on_selector_all(
        tid("tile"), "tiles => tiles.map(t => t.dataset.name)"
    )
    return sorted(names)


async def socket_node(page: Page) -> str:
    """The base URL of the node the page's socket goes to (the entry if unset)."""
    url: str | None = await page.evaluate("window.meeting._signaling._url || null")
    return url or "entry"


async def expect_in_meeting(pages: list[Page], names: list[str]) -> None:
    """Every page is joined and shows a tile per name, the others' video playing."""
    for page in pages:
        await wait_joined(page, timeout=30)
        await expect(page.locator(tid("tile"))).to_have_count(len(names), timeout=SEEN)
        assert await tile_names(page) == sorted(names)
        await wait_until(lambda page=page: remote_videos_play(page, len(names) - 1), timeout=20)


async def test_pages_on_two_entries_meet_on_the_rooms_node(start_nodes, open_on):
    a, b = await start_nodes("a", "b")
    ada = await open_on(a, "mn-meet", "Ada")
    await wait_joined(ada)
    assert await room_node(a, "mn-meet") == "a"
    bob = await open_on(b, "mn-meet", "Bob")  # b's entry sends Bob to a (wrong_node)
    await expect_in_meeting([ada, bob], ["Ada", "Bob"])

    assert await room_node(a, "mn-meet") == "a"
    assert await room_node(b, "mn-meet") == "a"
    assert await socket_node(bob) == a.url
    status, info = await http(b.url, "GET", "/api/v1/rooms/mn-meet")
    assert status == 200, info
    assert sorted(p["name"] for p in info["participants"]) == ["Ada", "Bob"]
    await screenshot(bob, "multinode-redirected-page")


async def test_kill_of_the_hosting_node_pages_come_back_on_the_survivor(start_nodes, open_on):
    a, b = await start_nodes("a", "b")
    room = "mn-kill"
    # Both pages come from b (their entry, which survives); the room lives on a.
    ada = await open_on(b, room, "Ada")
    await wait_joined(ada)
    bob = await open_on(b, room, "Bob")
    await expect_in_meeting([ada, bob], ["Ada", "Bob"])
    assert await room_node(b, room) == "a"
    assert await socket_node(ada) == a.url and await socket_node(bob) == a.url
    ada_id = await ada.evaluate("window.meeting.participantId")
    bob_id = await bob.evaluate("window.meeting.participantId")

    # Before the kill: Bob raises his hand, Ada says something in the chat.
    await bob.click(tid("raise-hand-button"))
    await expect(bob.locator(tid("raise-hand-button"))).to_have_attribute("aria-pressed", "true")
    await ada.click(tid("chat-button"))
    await ada.fill(tid("chat-input"), "Before the crash")
    await ada.press(tid("chat-input"), "Enter")
    await bob.click(tid("chat-button"))
    for page in (ada, bob):
        await expect(page.locator(tid("chat-message"))).to_have_count(1, timeout=SEEN)
        badge = page.locator(f'{tid("tile")}[data-participant-id="{bob_id}"] {tid("hand-badge")}')
        await expect(badge).to_have_text("1", timeout=SEEN)

    a.kill()
    killed_at = time.monotonic()

    async def survivor_hosts() -> bool:
        return await room_node(b, room) == "b"

    await wait_until(survivor_hosts, timeout=TAKEOVER_SECONDS + 5, step=0.1)
    takeover = time.monotonic() - killed_at
    print(f"takeover by b {takeover:.2f} s after kill -9 of a")

    # Both pages get back in by themselves (well within the 30 s give-up).
    await expect_in_meeting([ada, bob], ["Ada", "Bob"])
    back = time.monotonic() - killed_at
    print(f"both pages joined with video {back:.2f} s after the kill")
    assert await a.wait_exit() == -9
    assert await room_node(b, room) == "b"
    for page, pid in ((ada, ada_id), (bob, bob_id)):
        assert await page.evaluate("window.meeting.participantId") == pid
        assert await socket_node(page) in (b.url, "entry")
    for page in (ada, bob):
        messages = page.locator(tid("chat-message"))
        await expect(messages).to_have_count(1, timeout=SEEN)
        await expect(messages.first).to_contain_text("Before the crash")
        badge = page.locator(f'{tid("tile")}[data-participant-id="{bob_id}"] {tid("hand-badge")}')
        await expect(badge).to_have_text("1", timeout=SEEN)
    await expect(bob.locator(tid("raise-hand-button"))).to_have_attribute("aria-pressed", "true")
    await screenshot(ada, "multinode-after-kill-ada")
    await screenshot(bob, "multinode-after-kill-bob")
    assert takeover <= TAKEOVER_SECONDS, f"takeover took {takeover:.1f} s"


async def test_drain_moves_the_pages_to_the_other_node(start_nodes, open_on):
    a, b = await start_nodes("a", "b", env={"CONF_DRAIN_SECONDS": "1"})
    room = "mn-drain"
    ada = await open_on(b, room, "Ada")
    await wait_joined(ada)
    bob = await open_on(b, room, "Bob")
    await expect_in_meeting([ada, bob], ["Ada", "Bob"])
    assert await room_node(b, room) == "a"
    ids = [await page.evaluate("window.meeting.participantId") for page in (ada, bob)]

    started = time.monotonic()
    a.terminate()

    async def moved() -> bool:
        return await room_node(b, room) == "b"

    await wait_until(moved, timeout=15)
    await expect_in_meeting([ada, bob], ["Ada", "Bob"])
    back = time.monotonic() - started
    print(f"drained: both pages in the meeting on b {back:.2f} s after SIGTERM")
    for page, pid in zip((ada, bob), ids, strict=True):
        assert await page.evaluate("window.meeting.participantId") == pid
        assert await socket_node(page) in (b.url, "entry")
        # They moved because they were told to (room_moved), not because a died.
        notices = [payload for _, event, _, payload in SOCKET_LOG[page] if event == "room_moved"]
        assert len(notices) == 1 and f'"url":"{b.url}"' in notices[0], SOCKET_LOG[page]
    await screenshot(bob, "multinode-after-drain")
    # It exits only once its old sockets are gone (about 20 s here: see the report).
    assert await a.wait_exit(timeout=40) == 0
    print(f"a exited {time.monotonic() - started:.2f} s after SIGTERM")
    for page in (ada, bob):
        for at, event, url, payload in SOCKET_LOG[page]:
            print(f"{at - started:7.2f} {event} {url} {payload}")
