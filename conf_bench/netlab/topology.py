"""Network namespaces of one impaired-network run: set-up, shaping and tear-down.

Six namespaces, all named ``netlab-<owner pid>-<random>-<role>``::

    server ─┐
    A ──────┤ bridge (br0) ── relay (rb ⇄ rc, a userspace copier) ── C
    B ──────┘

Hosts get 10.77.0.0/24 addresses that exist only in their namespaces (server
.1, A .11, B .12, C .13), IPv6 is off, and every host's veth has its offloads
off (see ethtool.py) so that frames the relay copies arrive intact. C's link
goes through the relay namespace: the relay process adds loss, delay and
jitter, and ``tbf`` on the relay's two veths limits bandwidth (the bottleneck
sits in the network, not in C's own kernel, as on a real access link).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

PREFIX = "netlab-"
SUBNET = "10.77.0"
HOST_NUMBERS = {"server": 1, "A": 11, "B": 12, "C": 13}
ROLES = ("server", "A", "B", "C", "relay", "bridge")
# The relay's devices: towards C, and towards the bridge.
RELAY_TO_C = "rc"
RELAY_TO_BRIDGE = "rb"
# tbf's bucket: three full frames, and at most this much queueing delay.
TBF_BURST_BYTES = 4500
TBF_LATENCY_MS = 100


class TopologyError(RuntimeError):
    """A command that builds or changes the topology failed."""


def _run(argv: Sequence[str], check: bool = True) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise TopologyError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def netns_works() -> str | None:
    """None if this process may create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root (ip netns add, veth, bridge, tc)"
    name = f"{PREFIX}probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        _run(["ip", "netns", "add", name])
    except (TopologyError, OSError) as error:
        return f"ip netns add does not work here: {error}"
    _run(["ip", "netns", "del", name], check=False)
    return None


def _owner_alive(name: str) -> bool:
    parts = name[len(PREFIX) :].split("-")
    try:
        pid = int(parts[0]) if parts[0] != "probe" else int(parts[1])
    except (IndexError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_namespace_processes(namespace: str) -> None:
    for line in _run(["ip", "netns", "pids", namespace], check=False).split():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(line), signal.SIGKILL)


def remove_stale() -> list[str]:
    """Delete this harness's namespaces whose owning process is gone (a killed
    run), with the processes left in them; returns their names."""
    removed = []
    for line in _run(["ip", "netns", "list"], check=False).splitlines():
        name = line.split(" ", 1)[0]
        if name.startswith(PREFIX) and not _owner_alive(name):
            _kill_namespace_processes(name)
            _run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    return removed


def harness_namespaces() -> list[str]:
    """Names of every namespace of this harness that exists now."""
    lines = _run(["ip", "netns", "list"], check=False).splitlines()
    return [line.split(" ", 1)[0] for line in lines if line.startswith(PREFIX)]


@dataclass
class Topology:
    """The namespaces of one run; ``close()`` removes them (safe to call twice)."""

    tag: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}")
    created: list[str] = field(default_factory=list)
    closed: bool = False

    def ns(self, role: str) -> str:
        """The namespace name of ``role`` (one of ``ROLES``)."""
        return f"{self.tag}-{role}"

    @staticmethod
    def address(role: str) -> str:
        """The IPv4 address of host ``role`` (server, A, B or C)."""
        return f"{SUBNET}.{HOST_NUMBERS[role]}"

    def exec_argv(self, role: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside ``role``'s namespace."""
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def build(self) -> None:
        """Create namespaces, links and addresses; on failure removes what it made."""
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        for role in ROLES:
            _run(["ip", "netns", "add", self.ns(role)])
            self.created.append(self.ns(role))
            self._in(role, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            self._in(role, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            self._ip(role, "link", "set", "lo", "up")
        self._ip("bridge", "link", "add", "br0", "type", "bridge")
        self._ip("bridge", "link", "set", "br0", "up")
        for role in ("server", "A", "B"):
            self._ip("bridge", "link", "add", f"p{role}", "type", "veth",
                     "peer", "name", "eth0", "netns", self.ns(role))  # fmt: skip
            self._port_up(f"p{role}")
        self._ip("bridge", "link", "add", "pC", "type", "veth",
                 "peer", "name", RELAY_TO_BRIDGE, "netns", self.ns("relay"))  # fmt: skip
        self._port_up("pC")
        self._ip("relay", "link", "add", RELAY_TO_C, "type", "veth",
                 "peer", "name", "eth0", "netns", self.ns("C"))  # fmt: skip
        for device in (RELAY_TO_C, RELAY_TO_BRIDGE):
            # promisc: the relay must see frames for C's and the others' MACs.
            self._ip("relay", "link", "set", device, "promisc", "on", "up")
        for role in HOST_NUMBERS:
            self._ip(role, "addr", "add", f"{self.address(role)}/24", "dev", "eth0")
            self._ip(role, "link", "set", "eth0", "up")
            self._in(role, sys.executable, "-m", "conf_bench.netlab.ethtool", "eth0")

    def _port_up(self, device: str) -> None:
        self._ip("bridge", "link", "set", device, "master", "br0")
        self._ip("bridge", "link", "set", device, "up")

    def _ip(self, role: str, *args: str) -> None:
        _run(["ip", "-n", self.ns(role), *args])

    def _in(self, role: str, *argv: str) -> None:
        env_path = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        _run(["env", f"PYTHONPATH={env_path}", *self.exec_argv(role, argv)])

    def shape(self, direction: str, kbit: int | None) -> None:
        """Limit C's ``down``link or ``up``link to ``kbit`` kbit/s with tbf (None: no limit).

        Downlink: egress of the relay's veth towards C; uplink: egress of its
        veth towards the bridge (tbf shapes what leaves a device)."""
        device = {"down": RELAY_TO_C, "up": RELAY_TO_BRIDGE}[direction]
        tc = ["tc", "-n", self.ns("relay"), "qdisc"]
        if kbit is None:
            _run([*tc, "del", "dev", device, "root"], check=False)
            return
        _run([*tc, "replace", "dev", device, "root", "tbf", "rate", f"{kbit}kbit",
              "burst", str(TBF_BURST_BYTES), "latency", f"{TBF_LATENCY_MS}ms"])  # fmt: skip

    def shaper_drops(self) -> dict[str, int]:
        """Packets tbf dropped so far, per direction (0 where there is no tbf)."""
        drops = {}
        for direction, device in (("down", RELAY_TO_C), ("up", RELAY_TO_BRIDGE)):
            out = _run(["tc", "-n", self.ns("relay"), "-s", "qdisc", "show", "dev", device],
                       check=False)  # fmt: skip
            drops[direction] = _dropped(out) if "tbf" in out else 0
        return drops

    def close(self) -> None:
        """Kill whatever still runs in the namespaces, then delete them."""
        if self.closed:
            return
        self.closed = True
        for name in reversed(self.created):
            _kill_namespace_processes(name)
            _run(["ip", "netns", "del", name], check=False)
        self.created.clear()


def _dropped(tc_output: str) -> int:
    words = tc_output.replace(",", " ").replace("(", " ").replace(")", " ").split()
    for index, word in enumerate(words[:-1]):
        if word == "dropped":
            with contextlib.suppress(ValueError):
                return int(words[index + 1])
    return 0
