"""The odd-bytes sweep (test_odd_bytes.py) against a server whose state lives
in a real ``redis-server`` (the Redis deployment's store): there every value
a message or request leaves behind (a name, a chat text, a poll, a room's
settings, a lobby guest) is encoded for Redis and read back, which the
in-memory store never does. The same answers are required: a documented
error or a normal answer, never ``internal_error``, HTTP 500, a hang or a
traceback, and the server goes on serving."""

from __future__ import annotations

from redis.asyncio import Redis

from security.conftest import Fuzz
from security.test_odd_bytes import (
    FUZZ_SETTINGS,
    test_odd_json_values_in_every_request_body,
    test_odd_messages_from_the_lobby,
    test_odd_query_and_path_values_on_every_route,
    test_odd_socketio_connections,
    test_odd_values_in_every_field_of_every_socketio_message,
)

#: Read by the ``fuzz`` fixture (security/conftest.py): this module's server
#: keeps its state in a redis-server of its own.
FUZZ_STORE = "redis"

__all__ = [
    "FUZZ_SETTINGS",
    "test_odd_json_values_in_every_request_body",
    "test_odd_messages_from_the_lobby",
    "test_odd_query_and_path_values_on_every_route",
    "test_odd_socketio_connections",
    "test_odd_values_in_every_field_of_every_socketio_message",
]


def test_the_sweep_left_its_rooms_in_redis(fuzz: Fuzz) -> None:
    """The sweep above ran against the Redis store: the rooms its messages
    made are there (a check that this module tests what it says)."""
    assert fuzz.redis_url is not None

    async def room_keys() -> list[bytes]:
        redis = Redis.from_url(fuzz.redis_url or "")
        try:
            return [key async for key in redis.scan_iter(match="conf:*room*")]
        finally:
            await redis.aclose()

    assert fuzz.run(room_keys())
