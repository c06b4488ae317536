"""The conf-server under test, started from a source tree inside the server namespace.

The tree is a path so that a ``git worktree`` of an older commit can be measured
("before") with this harness. The venv's interpreter runs it with the tree first
on ``sys.path``; HTTP/Socket.IO and ICE both use the namespace's address, and no
STUN/TURN server is configured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .media_trace import ADMIN_KEY
from .topology import Topology

PORT = 8080
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def _hex_address(address: str, port: int) -> str:
    octets = [int(part) for part in address.split(".")]
    return "".join(f"{octet:02X}" for octet in reversed(octets)) + f":{port:04X}"


def stop_process(proc: subprocess.Popen[bytes], patience: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``patience`` seconds; nothing if it has ended."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(patience)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_server_listening(
    proc: subprocess.Popen[bytes], address: str, port: int, log_path: Path, timeout: float
) -> None:
    """Wait until the server process ``proc`` listens on ``address:port``, read
    from its own namespace's ``/proc/<pid>/net/tcp`` (the harness cannot
    connect into the namespace). Raises RuntimeError, with the end of its
    log, if it exits or does not listen within ``timeout`` seconds."""
    wanted = _hex_address(address, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"conf-server exited: {log_path.read_text()[-2000:]}")
        try:
            table = Path(f"/proc/{proc.pid}/net/tcp").read_text()
        except OSError:
            table = ""
        for line in table.splitlines()[1:]:
            fields = line.split()
            if fields[1] == wanted and fields[3] == LISTEN:
                return
        time.sleep(0.1)
    raise RuntimeError(f"conf-server did not listen within {timeout} s")


def _ensure_client_modules(source_tree: Path) -> None:
    """A worktree of an older commit has no ``web_client/node_modules`` (npm's
    output is not in git): link the harness tree's, whose socket.io client the
    server serves (else the page gets 503 and never joins)."""
    wanted = source_tree / "web_client" / "node_modules"
    ours = Path(__file__).resolve().parents[2] / "web_client" / "node_modules"
    if not wanted.exists() and ours.is_dir():
        wanted.symlink_to(ours, target_is_directory=True)


class NamespacedServer:
    """``python -m conf_server`` in ``topology``'s server namespace; ``stop()`` ends it."""

    def __init__(self, topology: Topology, source_tree: Path, workdir: Path) -> None:
        self.address = topology.address("server")
        self.url = f"http://{self.address}:{PORT}"
        self.log_path = workdir / "server.log"
        self._log = self.log_path.open("w")
        _ensure_client_modules(source_tree)
        env = {**os.environ, "PYTHONPATH": str(source_tree), "CONF_ADMIN_API_KEY": ADMIN_KEY}
        argv = [sys.executable, "-m", "conf_server", "--host", self.address,
                "--port", str(PORT), "--data-dir", str(workdir / "data"),
                "--ice-address", self.address, "--log-level", "warning"]  # fmt: skip
        # `ip netns exec` execs the interpreter, so this pid is the server's.
        self.proc = subprocess.Popen(
            topology.exec_argv("server", argv),
            cwd=source_tree,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid

    def wait_listening(self, timeout: float = 30) -> None:
        """Wait until the server listens (read from its namespace's /proc/net/tcp)."""
        wait_server_listening(self.proc, self.address, PORT, self.log_path, timeout)

    def stop(self) -> None:
        """Terminate the server (kill after 10 s); safe to call twice."""
        stop_process(self.proc)
        self._log.close()
