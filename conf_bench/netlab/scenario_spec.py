"""The impaired-network scenarios: what C's link does in each (names are stable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .relay import Impairment


@dataclass(frozen=True)
class Scenario:
    """C's link: relay impairment per direction, tbf limits in kbit/s (None: none)."""

    name: str
    description: str
    down: Impairment = field(default_factory=Impairment)
    up: Impairment = field(default_factory=Impairment)
    down_kbit: int | None = None
    up_kbit: int | None = None
    #: C's camera (width, height, fps) when it must differ from the others'.
    c_camera: tuple[int, int, int] | None = None


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("clean", "no impairment"),
        Scenario("down300", "C's downlink limited to 300 kbit/s (tbf)", down_kbit=300),
        Scenario(
            "loss5",
            "5 % random loss both ways and 80 ms RTT on C (40 ms each way)",
            down=Impairment(loss=0.05, delay_ms=40, seed=5),
            up=Impairment(loss=0.05, delay_ms=40, seed=6),
        ),
        # A 1280x720 camera for C: its three layers ask for ~1.85 Mbit/s, so
        # the limit binds (a 640x360 one sends ~230 kbit/s, about the limit).
        Scenario(
            "up250",
            "C's uplink limited to 250 kbit/s (tbf); C's camera 1280x720",
            up_kbit=250,
            c_camera=(1280, 720, 15),
        ),
    )
}
