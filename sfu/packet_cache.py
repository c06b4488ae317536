"""A fixed-size ring of recent RTP packets, keyed by sequence number, to answer NACKs."""

from __future__ import annotations

from .rtp import RtpView


class PacketCache:
    """Keeps the last ``size`` packets; never grows (old entries are overwritten)."""

    __slots__ = ("_mask", "_slots")

    def __init__(self, size: int = 512) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("packet cache size must be a power of two")
        self._mask = size - 1
        self._slots: list[RtpView | None] = [None] * size

    def __len__(self) -> int:
        return len(self._slots)

    def put(self, view: RtpView) -> None:
        self._slots[view.sequence_number & self._mask] = view

    def get(self, sequence_number: int) -> RtpView | None:
        view = self._slots[sequence_number & self._mask]
        if view is not None and view.sequence_number == sequence_number:
            return view
        return None
