"""``python -m conf_server`` inside a namespace of a connectivity test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from conf_bench.netlab.server import stop_process, wait_server_listening

REPOSITORY = Path(__file__).resolve().parents[2]
PORT = 8080


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
        wait_server_listening(self.proc, self.address, PORT, self.log_path, timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate it (kill after 10 s); safe to call twice."""
        stop_process(self.proc)
        self._log.close()
