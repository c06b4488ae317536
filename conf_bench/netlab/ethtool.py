"""Turn off a veth's checksum and segmentation offloads.

``python -m conf_bench.netlab.ethtool DEV...``

Run inside the namespace that holds the devices. The relay copies frames with
AF_PACKET sockets: with offloads on, the kernel hands it UDP/TCP packets whose
checksum is not filled in yet (and TCP segments of up to 64 KiB), which the far
side then drops. The ``ethtool`` program is not installed here, so this speaks
its ioctl directly.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
# ETHTOOL_S* commands of <linux/ethtool.h>: tx checksum, scatter-gather, TSO, GSO, GRO.
SET_COMMANDS = {"tx": 0x17, "sg": 0x19, "tso": 0x1F, "gso": 0x24, "gro": 0x2C}


class _EthtoolValue(ctypes.Structure):
    _fields_ = [("cmd", ctypes.c_uint32), ("data", ctypes.c_uint32)]


def disable_offloads(device: str) -> None:
    """Switch off every offload in ``SET_COMMANDS`` on ``device`` (in this namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name, command in SET_COMMANDS.items():
            value = _EthtoolValue(command, 0)
            request = struct.pack("16sP", device.encode(), ctypes.addressof(value))
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
            except OSError as error:
                raise OSError(f"{device}: cannot turn off {name} offload: {error}") from error


def main(argv: list[str]) -> int:
    for device in argv:
        disable_offloads(device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
