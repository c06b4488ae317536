"""``python -m conf_server`` inside a namespace of a connectivity test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PORT = 8080
TCP_LISTEN = "0A"  # socket state in /proc/net/tcp


def _hex_endpoint(address: str, port: int) -> str:
    octets = [int(part) for part in address.split(".")]
    return "".join(f"{octet:02X}" for octet in reversed(octets)) + f":{port:04X}"


class NamespacedServer:
    """The server bound to ``address`` in the namespace that ``exec_prefix``
    enters, gathering ICE on that address; ``stop()`` ends it.

    ``flags`` go to the command line (``--ice-server``, ``--announced-address``);
    ``env`` adds to the environment (``CONF_TURN_SECRET``, never a flag: command
    lines are visible to every user).
    """

    def __init__(
        self,
        exec_prefix: Sequence[str],
        address: str,
        workdir: Path,
        flags: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.address = address
        self.log_path = workdir / "server.log"
        self._log = self.log_path.open("w")
        argv = [sys.executable, "-m", "conf_server", "--host", address, "--port", str(PORT),
                "--data-dir", str(workdir / "data"), "--ice-address", address,
                "--log-level", "info", "--drain-seconds", "0", *flags]  # fmt: skip
        # --drain-seconds 0: a test's meetings need not outlive it on SIGTERM.
        # `ip netns exec` execs the interpreter: this pid is the server's.
        self.proc = subprocess.Popen(
            [*exec_prefix, *argv],
            cwd=REPOSITORY,
            env={**os.environ, "PYTHONPATH": str(REPOSITORY), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_listening(self, timeout: float = 40) -> None:
        """Wait until it listens (read from its namespace's /proc/net/tcp)."""
        wanted = _hex_endpoint(self.address, PORT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"conf-server exited: {self.log_text()[-2000:]}")
            try:
                table = Path(f"/proc/{self.proc.pid}/net/tcp").read_text()
            except OSError:
                table = ""
            for line in table.splitlines()[1:]:
                fields = line.split()
                if fields[1] == wanted and fields[3] == TCP_LISTEN:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"conf-server did not listen within {timeout} s")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate it (kill after 10 s); safe to call twice."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
