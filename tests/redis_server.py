"""A real redis-server for tests, started on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` with no persistence, in ``directory``; ``stop()`` ends it."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed (scripts/setup.sh --test installs it)"
            )
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): its connections stay open but nothing is
        answered, the hardest kind of outage for a client."""
        os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT), its data intact."""
        os.kill(self._process.pid, signal.SIGCONT)


@contextmanager
def redis_url_for(store: str, directory: Path) -> Iterator[str | None]:
    """The Redis URL of a test server's store: a fresh redis-server in
    ``directory``/redis for ``store == "redis"`` (stopped afterwards), None
    (the memory store) otherwise. For a fixture parametrized over both stores."""
    if store != "redis":
        yield None
        return
    (directory / "redis").mkdir()
    redis = RedisServer(directory / "redis")
    try:
        yield redis.url
    finally:
        redis.stop()
