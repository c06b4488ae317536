"""Every: the throttle of work a periodic tick does less often than it runs
(sfu/every.py; the relay's sender reports and its word on wanted layers)."""

from __future__ import annotations

from sfu.every import Every


def test_due_at_the_first_call_then_once_per_interval() -> None:
    every = Every(1.0)
    assert every.due(100.0)  # at once, whatever the clock says
    assert not every.due(100.5)
    assert every.due(101.0)
    # A tick that comes late starts the next interval then, not on a grid.
    assert every.due(103.7)
    assert not every.due(104.6)
    assert every.due(104.75)
