"""Hosts and routers as network namespaces, for connectivity tests.

Each test module builds its own small internet out of ``ip netns`` namespaces
named ``connlab-<owner pid>-<random>-<role>``, veth pairs, bridges and nft
rules, on 10.88.x.0/24 networks that exist only there. The suite already runs
inside ``unshare --net`` (scripts/test.sh), so nothing here can reach a real
network either way. ``close()`` kills whatever still runs in the namespaces and
deletes them; ``remove_stale()`` cleans up after a run that was killed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Sequence

PREFIX = "connlab-"


class HostsError(RuntimeError):
    """A command that builds or changes the namespaces failed."""


def run(argv: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    """Run ``argv``; its stdout. Raises HostsError with its stderr on failure."""
    done = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=30
    )
    if check and done.returncode != 0:
        raise HostsError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def missing_tools() -> str | None:
    """None if namespaces, nft, coturn and Chromium are all here, else what is not."""
    if os.geteuid() != 0:
        return "needs root (ip netns add, veth, nft)"
    for tool in ("ip", "nft", "turnserver", "chromium"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/bin/{tool}"):
            return f"{tool} is not installed (scripts/setup.sh --test installs it)"
    return None


def _kill_processes(namespace: str) -> None:
    for pid in run(["ip", "netns", "pids", namespace], check=False).split():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(pid), signal.SIGKILL)


def _owner_alive(name: str) -> bool:
    try:
        pid = int(name[len(PREFIX) :].split("-")[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> None:
    """Delete namespaces of this helper whose owning process is gone."""
    for line in run(["ip", "netns", "list"], check=False).splitlines():
        name = line.split(" ", 1)[0]
        if name.startswith(PREFIX) and not _owner_alive(name):
            _kill_processes(name)
            run(["ip", "netns", "del", name], check=False)


class Hosts:
    """Namespaces by role; ``close()`` removes them all (safe to call twice)."""

    def __init__(self) -> None:
        self.tag = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.created: list[str] = []

    def ns(self, role: str) -> str:
        """The namespace name of ``role``."""
        return f"{self.tag}-{role}"

    def exec_argv(self, role: str, argv: Sequence[str] = ()) -> list[str]:
        """``argv`` run inside ``role``'s namespace (the prefix alone if empty)."""
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def add(self, *roles: str) -> None:
        """New namespaces with ``lo`` up and IPv6 off (no link-local candidates)."""
        for role in roles:
            run(["ip", "netns", "add", self.ns(role)])
            self.created.append(self.ns(role))
            self.sysctl(role, "net.ipv6.conf.all.disable_ipv6=1")
            self.sysctl(role, "net.ipv6.conf.default.disable_ipv6=1")
            self.ip(role, "link", "set", "lo", "up")

    def ip(self, role: str, *args: str) -> str:
        """``ip`` inside ``role``'s namespace."""
        return run(["ip", "-n", self.ns(role), *args])

    def sysctl(self, role: str, setting: str) -> None:
        run(self.exec_argv(role, ["sysctl", "-qw", setting]))

    def link(self, role_a: str, device_a: str, role_b: str, device_b: str) -> None:
        """A veth pair: ``device_a`` in ``role_a``, ``device_b`` in ``role_b``."""
        self.ip(role_a, "link", "add", device_a, "type", "veth",
                "peer", "name", device_b, "netns", self.ns(role_b))  # fmt: skip

    def bridge(self, role: str, name: str, ports: Sequence[str]) -> None:
        """A bridge ``name`` in ``role`` joining its devices ``ports``."""
        self.ip(role, "link", "add", name, "type", "bridge")
        for port in ports:
            self.ip(role, "link", "set", port, "master", name)
            self.ip(role, "link", "set", port, "up")
        self.ip(role, "link", "set", name, "up")

    def address(self, role: str, device: str, *cidrs: str) -> None:
        """Give ``device`` its addresses and bring it up."""
        for cidr in cidrs:
            self.ip(role, "addr", "add", cidr, "dev", device)
        self.ip(role, "link", "set", device, "up")

    def default_route(self, role: str, via: str) -> None:
        self.ip(role, "route", "add", "default", "via", via)

    def router(self, role: str) -> None:
        """Let ``role`` forward packets between its interfaces."""
        self.sysctl(role, "net.ipv4.ip_forward=1")

    def nft(self, role: str, ruleset: str) -> None:
        """Load an nft ruleset (``nft -f`` syntax) inside ``role`` only."""
        run(self.exec_argv(role, ["nft", "-f", "-"]), stdin=ruleset)

    def nft_list(self, role: str) -> str:
        """``nft list ruleset`` of ``role`` (with rule counters)."""
        return run(self.exec_argv(role, ["nft", "list", "ruleset"]))

    def close(self) -> None:
        """Kill whatever runs in the namespaces, then delete them."""
        for name in reversed(self.created):
            _kill_processes(name)
            run(["ip", "netns", "del", name], check=False)
        self.created.clear()
