"""The dispatcher against real HTTP receivers on 127.0.0.1: signing, retries with
backoff, at-least-once across a restart, failure after max attempts, isolation
from slow and dead receivers. Backoff is shrunk to tens of milliseconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from webhook_receiver import Receiver

from conf_server.integration.database import Database
from conf_server.integration.webhooks import EVENT_TYPES, WebhookDispatcher

# The receivers are on loopback: the deployment's documented opt-in.
FAST = {
    "backoff_base": 0.1,
    "backoff_cap": 0.4,
    "timeout": 1.0,
    "allowed_networks": ("127.0.0.0/8",),
}
Make = Callable[..., WebhookDispatcher]


@pytest.fixture
async def make_dispatcher(tmp_path: Path) -> AsyncIterator[Make]:
    """``make_dispatcher(**options)``: a dispatcher on ``tmp_path/conf.sqlite3``
    (a fresh connection each time, like a new process); all closed at the end."""
    made: list[tuple[WebhookDispatcher, Database]] = []

    def make(**options: Any) -> WebhookDispatcher:
        db = Database(tmp_path / "conf.sqlite3")
        dispatcher = WebhookDispatcher(db, **{**FAST, **options})
        made.append((dispatcher, db))
        return dispatcher

    yield make
    for dispatcher, db in made:
        await dispatcher.close()
        db.close()


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        await receiver.stop()


async def running(receivers: list[Receiver], **options: Any) -> Receiver:
    receiver = Receiver(**options)
    receivers.append(receiver)
    return await receiver.start()


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def log_of(dispatcher: WebhookDispatcher, endpoint_id: str) -> list[dict[str, Any]]:
    return dispatcher.deliveries(endpoint_id)


async def test_events_arrive_signed_with_their_headers_and_unique_ids(make_dispatcher, receivers):
    receiver = await running(receivers)
    dispatcher = make_dispatcher()
    endpoint = dispatcher.add_endpoint(receiver.url)
    await dispatcher.start()
    data = {"meeting_id": "m1", "room": "standup", "title": "Stand-up ☕"}
    ids = [dispatcher.publish(kind, data) for kind in EVENT_TYPES]
    requests = await receiver.wait_for(len(EVENT_TYPES))
    assert len(set(ids)) == len(ids) and all(i and i.startswith("evt_") for i in ids)
    assert sorted(receiver.event_ids()) == sorted(ids)
    for request in requests:
        assert request.verifies(endpoint["secret"])
        assert not request.verifies("whsec_someone_else")
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Conf-Event-Id"] == request.body["id"]
        assert request.headers["X-Conf-Event-Type"] == request.body["type"]
        assert abs(int(request.headers["X-Conf-Timestamp"]) - time.time()) < 5
        assert request.body["data"] == data
        assert isinstance(request.body["created_at"], float)
    await wait_until(
        lambda: {d["status"] for d in log_of(dispatcher, endpoint["id"])} == {"delivered"}
    )


async def test_endpoints_get_only_the_event_types_they_chose(make_dispatcher, receivers):
    chat, everything = await running(receivers), await running(receivers)
    dispatcher = make_dispatcher()
    dispatcher.add_endpoint(chat.url, ["chat.message"])
    dispatcher.add_endpoint(everything.url)
    await dispatcher.start()
    assert dispatcher.publish("participant.joined", {"meeting_id": "m"}) is not None
    chat_id = dispatcher.publish("chat.message", {"meeting_id": "m"})
    await everything.wait_for(2)
    await chat.wait_for(1)
    await asyncio.sleep(0.2)
    assert chat.event_ids() == [chat_id]
    # Nobody wants an unknown type (and it never raises into the meeting).
    assert dispatcher.publish("meeting.exploded", {}) is None


async def test_publish_without_endpoints_queues_nothing(make_dispatcher):
    dispatcher = make_dispatcher()
    assert dispatcher.publish("meeting.started", {"meeting_id": "m"}) is None


async def test_server_errors_are_retried_with_growing_backoff_until_delivered(
    make_dispatcher, receivers
):
    receiver = await running(receivers, statuses=[500, 503])
    dispatcher = make_dispatcher()
    endpoint = dispatcher.add_endpoint(receiver.url)
    await dispatcher.start()
    event_id = dispatcher.publish("meeting.ended", {"meeting_id": "m"})
    requests = await receiver.wait_for(3)
    assert receiver.event_ids() == [event_id] * 3
    first_gap = requests[1].at - requests[0].at
    second_gap = requests[2].at - requests[1].at
    assert 0.07 <= first_gap < second_gap  # ~0.1 s, then ~0.2 s (+-20 % jitter)
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["status"] == "delivered")
    [entry] = log_of(dispatcher, endpoint["id"])
    assert entry["event_id"] == event_id and entry["attempts"] == 3
    assert [a["status"] for a in entry["attempt_log"]] == [500, 503, 200]
    assert entry["last_status"] == 200 and entry["last_error"] is None
    assert entry["delivered_at"] and entry["next_attempt_at"] is None
    assert entry["attempt_log"][0]["error"] == "HTTP 500"  # never the receiver's body


async def test_a_dead_port_is_retried_and_the_event_arrives_when_it_comes_up(
    make_dispatcher, receivers
):
    receiver = Receiver()  # not listening yet: connection refused
    receivers.append(receiver)
    dispatcher = make_dispatcher()
    endpoint = dispatcher.add_endpoint(receiver.url)
    await dispatcher.start()
    event_id = dispatcher.publish("participant.joined", {"meeting_id": "m"})
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["attempts"] >= 2)
    [entry] = log_of(dispatcher, endpoint["id"])
    assert entry["status"] == "pending" and entry["last_status"] is None
    assert "connect" in entry["last_error"].lower()
    await receiver.start()
    await receiver.wait_for(1, timeout=3)
    assert set(receiver.event_ids()) == {event_id}  # at least once; never another event
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["status"] == "delivered")


async def test_a_delivery_fails_for_good_after_max_attempts(make_dispatcher, receivers):
    receiver = await running(receivers, statuses=[500] * 20)
    dispatcher = make_dispatcher(max_attempts=4)
    endpoint = dispatcher.add_endpoint(receiver.url)
    await dispatcher.start()
    dispatcher.publish("poll.closed", {"meeting_id": "m", "poll": {}})
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["status"] == "failed")
    await asyncio.sleep(0.6)  # longer than the largest backoff: no fifth attempt
    assert len(receiver.requests) == 4
    [entry] = log_of(dispatcher, endpoint["id"])
    assert entry["attempts"] == 4 and entry["last_status"] == 500
    assert len(entry["attempt_log"]) == 4 and entry["next_attempt_at"] is None


async def test_the_queue_survives_a_restart(make_dispatcher, receivers, tmp_path):
    receiver = Receiver()  # down while the first process runs
    receivers.append(receiver)
    first = make_dispatcher()
    endpoint = first.add_endpoint(receiver.url)
    await first.start()
    ids = [first.publish("chat.message", {"message": {"text": f"hi {n}"}}) for n in range(3)]
    await wait_until(lambda: all(d["attempts"] >= 1 for d in log_of(first, endpoint["id"])))
    await first.close()

    await receiver.start()
    await asyncio.sleep(0.3)
    assert receiver.requests == []  # nobody sends while no dispatcher runs
    second = make_dispatcher()  # a new process: a new connection to the same file
    await second.start()
    await receiver.wait_for(3)
    assert sorted(set(receiver.event_ids())) == sorted(ids)
    await wait_until(
        lambda: [d["status"] for d in log_of(second, endpoint["id"])] == ["delivered"] * 3
    )


async def test_events_in_flight_at_shutdown_are_sent_again_after_a_restart(
    make_dispatcher, receivers
):
    receiver = await running(receivers, delay=30)  # never answers before close()
    first = make_dispatcher()
    endpoint = first.add_endpoint(receiver.url)
    await first.start()
    event_id = first.publish("meeting.started", {"meeting_id": "m"})
    await receiver.wait_for(1)
    started = time.monotonic()
    await first.close()
    assert time.monotonic() - started < 1.0
    receiver.delay = 0
    second = make_dispatcher()
    await second.start()
    await receiver.wait_for(2)
    assert receiver.event_ids() == [event_id, event_id]  # at least once
    await wait_until(lambda: log_of(second, endpoint["id"])[0]["status"] == "delivered")


async def test_a_hanging_receiver_delays_neither_publish_nor_other_endpoints(
    make_dispatcher, receivers
):
    hanging = await running(receivers, delay=30)
    healthy = await running(receivers)
    dispatcher = make_dispatcher(timeout=10.0, per_endpoint=2)
    dispatcher.add_endpoint(hanging.url)
    dispatcher.add_endpoint(healthy.url)
    await dispatcher.start()
    durations = []
    for n in range(50):
        started = time.perf_counter()
        dispatcher.publish("chat.message", {"message": {"text": f"m{n}"}})
        durations.append(time.perf_counter() - started)
        await asyncio.sleep(0)
    # Typically ~0.1 ms (two SQLite inserts). The max only proves no network wait:
    # on a loaded 2-core CI box the scheduler alone can add ~15 ms to one call.
    durations.sort()
    assert durations[len(durations) // 2] < 0.001, durations
    assert durations[-1] < 0.1, durations
    await healthy.wait_for(50, timeout=3)
    await asyncio.sleep(0.1)
    assert len(hanging.requests) == 2  # its own concurrency limit, nothing more
    # The event loop stays responsive while two requests hang.
    started = time.perf_counter()
    await asyncio.sleep(0.01)
    assert time.perf_counter() - started < 0.05


async def test_deleting_an_endpoint_stops_its_deliveries(make_dispatcher, receivers):
    receiver = Receiver()
    receivers.append(receiver)
    dispatcher = make_dispatcher()
    endpoint = dispatcher.add_endpoint(receiver.url)
    await dispatcher.start()
    dispatcher.publish("meeting.started", {"meeting_id": "m"})
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["attempts"] >= 1)
    deleted = dispatcher.delete_endpoint(endpoint["id"])
    assert deleted["deleted_at"] is not None
    assert dispatcher.endpoints() == []
    await receiver.start()
    assert dispatcher.publish("meeting.ended", {"meeting_id": "m"}) is None
    await asyncio.sleep(0.6)
    assert receiver.requests == []
    [entry] = log_of(dispatcher, endpoint["id"])
    assert entry["status"] == "failed" and entry["last_error"] == "endpoint deleted"


async def test_old_delivered_and_failed_rows_are_pruned(make_dispatcher, receivers):
    receiver = await running(receivers)
    dispatcher = make_dispatcher()
    endpoint = dispatcher.add_endpoint(receiver.url, ["meeting.started"])
    await dispatcher.start()
    dispatcher.publish("meeting.started", {"meeting_id": "m"})
    await wait_until(lambda: log_of(dispatcher, endpoint["id"])[0]["status"] == "delivered")
    pending = Receiver()  # a dead endpoint keeps a pending row
    receivers.append(pending)
    dead = dispatcher.add_endpoint(pending.url)
    dispatcher.publish("meeting.ended", {"meeting_id": "m"})
    assert dispatcher.store.prune(time.time() - 60) == 0  # too young
    assert dispatcher.store.prune(time.time() + 60) == 1  # the delivered one only
    assert log_of(dispatcher, endpoint["id"]) == []
    assert [d["status"] for d in log_of(dispatcher, dead["id"])] == ["pending"]


async def test_close_is_safe_twice_and_without_start(make_dispatcher):
    dispatcher = make_dispatcher()
    await dispatcher.close()
    await dispatcher.close()
    assert dispatcher.closed


async def test_workers_sharing_one_queue_deliver_each_event_once(make_dispatcher, receivers):
    # `conf-server --workers N` runs N dispatchers on one data dir's queue.
    receiver = await running(receivers, delay=0.05)
    first, second, third = make_dispatcher(), make_dispatcher(), make_dispatcher()
    endpoint = first.add_endpoint(receiver.url)
    for dispatcher in (first, second, third):
        await dispatcher.start()
    ids = [(first, second, third)[i % 3].publish("meeting.started", {"n": i}) for i in range(30)]
    await receiver.wait_for(30)
    await asyncio.sleep(0.5)  # time for duplicates to show up, if any
    assert sorted(receiver.event_ids()) == sorted(ids)
    await wait_until(
        lambda: [d["status"] for d in log_of(first, endpoint["id"])] == ["delivered"] * 30
    )
