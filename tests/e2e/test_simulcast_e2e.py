"""Simulcast end to end (issue 15, point 3 and the tile-size rule of point 4):
real Chromium publishes its camera as several layers, the SFU forwards one
layer per subscriber, chosen by the size of the subscriber's tile, and
switches when the tile grows, without the receiving browser noticing
anything but a sharper picture.

The fake camera is 1280x720, so Chrome sends 320x180, 640x360 and 1280x720.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import PageFactory, join, wait_until
from playwright.async_api import Page

pytestmark = pytest.mark.e2e

RECEIVED_VIDEO = """async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video')
        out.push({height: s.frameHeight || 0, frames: s.framesDecoded || 0});
    });
  }
  return out;
}"""

SENT_LAYERS = """async () => {
  const out = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'video')
        out.push({rid: s.rid || null, height: s.frameHeight || 0, frames: s.framesEncoded || 0});
    });
  }
  return out;
}"""


async def received_heights(page: Page) -> list[int]:
    stats: list[dict[str, Any]] = await page.evaluate(RECEIVED_VIDEO)
    return [s["height"] for s in stats if s["frames"] > 0]


async def test_each_subscriber_gets_the_layer_its_tile_needs(open_page: PageFactory) -> None:
    ada, ada_id = await join(open_page, "simulcast", "Ada")
    grace, _ = await join(open_page, "simulcast", "Grace")

    # Ada's browser sends several layers of her camera.
    async def layers_sent() -> bool:
        sent: list[dict[str, Any]] = await ada.evaluate(SENT_LAYERS)
        return len([s for s in sent if s["rid"] and s["frames"] > 0]) >= 2

    print(f"layers sent after {await wait_until(layers_sent, timeout=30):.1f} s")
    sent: list[dict[str, Any]] = await ada.evaluate(SENT_LAYERS)
    top = max(s["height"] for s in sent)

    # Grace's window is small: her tile of Ada is small, so she gets a lower layer.
    await grace.set_viewport_size({"width": 480, "height": 270})

    async def small_layer() -> bool:
        heights = await received_heights(grace)
        return bool(heights) and 0 < max(heights) < top

    print(f"small layer after {await wait_until(small_layer, timeout=30):.1f} s")

    # A big window: Ada's tile is about as tall as her top layer, so Grace
    # gets that one (a layer up to 1.25 x the tile's height is chosen).
    await grace.set_viewport_size({"width": 2560, "height": 1440})

    async def top_layer() -> bool:
        heights = await received_heights(grace)
        return bool(heights) and max(heights) == top

    print(f"top layer after {await wait_until(top_layer, timeout=30):.1f} s")
    # The picture kept decoding through the switches.
    before = sum(s["frames"] for s in await grace.evaluate(RECEIVED_VIDEO))
    await grace.wait_for_timeout(1500)
    after = sum(s["frames"] for s in await grace.evaluate(RECEIVED_VIDEO))
    assert after > before
    assert ada_id
