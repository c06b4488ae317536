"""Dynacast end to end (issue 15, point 9's lever): a real Chromium publisher
stops encoding the camera layer nobody takes, when the server tells it, and
encodes it again the moment a subscriber's tile needs it.

The fake camera is 1280x720, so Chrome sends 320x180, 640x360 and 1280x720.
A big window takes the top layer; the middle one is then wanted by nobody
(the lowest is always kept, for newcomers and thin links).
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import PageFactory, join, wait_until
from playwright.async_api import Page
from test_simulcast_e2e import RECEIVED_VIDEO, SENT_LAYERS, received_heights

pytestmark = pytest.mark.e2e


async def frames_by_rid(page: Page) -> dict[str, int]:
    """Frames encoded so far per simulcast layer of the page's camera."""
    sent: list[dict[str, Any]] = await page.evaluate(SENT_LAYERS)
    return {s["rid"]: s["frames"] for s in sent if s["rid"]}


async def encoding(page: Page, seconds: float = 1.5) -> set[str]:
    """The rids whose encoder produced frames in the next ``seconds``."""
    before = await frames_by_rid(page)
    await page.wait_for_timeout(int(seconds * 1000))
    after = await frames_by_rid(page)
    return {rid for rid, frames in after.items() if frames > before.get(rid, 0)}


async def layer_heights(page: Page) -> list[int]:
    """The heights of the page's camera layers now, lowest first (a paused
    layer keeps the height it last had)."""
    sent: list[dict[str, Any]] = await page.evaluate(SENT_LAYERS)
    return sorted({s["height"] for s in sent if s["rid"]})


async def test_the_middle_layer_stops_while_nobody_takes_it_and_comes_back_when_needed(
    open_page: PageFactory,
) -> None:
    ada, _ = await join(open_page, "dynacast", "Ada")
    grace, _ = await join(open_page, "dynacast", "Grace")
    await grace.set_viewport_size({"width": 2560, "height": 1440})

    async def all_three() -> bool:
        return len(await encoding(ada, 0.5)) == 3

    await wait_until(all_three, timeout=30)
    assert len(await layer_heights(ada)) == 3

    # Heights are read afresh at each look: on a busy machine Chrome's CPU
    # adaptation scales all layers down mid-test (720p becomes 540p), and a
    # height remembered from the start would then never be received.
    async def top_layer() -> bool:
        got, heights = await received_heights(grace), await layer_heights(ada)
        return bool(got) and max(got) == heights[-1]

    await wait_until(top_layer, timeout=30)

    # Grace takes the top layer: Ada's browser is told to stop the middle one.
    async def middle_stopped() -> bool:
        return await encoding(ada) == {"q", "f"}

    print(f"middle layer stopped after {await wait_until(middle_stopped, timeout=45):.1f} s")
    await wait_until(top_layer, timeout=10)  # Grace's picture is untouched

    # Grace's window shrinks so her tile of Ada is about 350 px: the middle
    # layer is needed again, comes back, and Grace gets it.
    await grace.set_viewport_size({"width": 1280, "height": 720})

    async def middle_received() -> bool:
        got, heights = await received_heights(grace), await layer_heights(ada)
        return bool(got) and len(heights) == 3 and max(got) == heights[1]

    print(f"middle layer received after {await wait_until(middle_received, timeout=30):.1f} s")
    assert "h" in await encoding(ada)

    # And her picture keeps decoding.
    async def decoding() -> bool:
        before = sum(s["frames"] for s in await grace.evaluate(RECEIVED_VIDEO))
        await grace.wait_for_timeout(1000)
        return sum(s["frames"] for s in await grace.evaluate(RECEIVED_VIDEO)) > before

    await wait_until(decoding, timeout=10)
