"""A page sees a newcomer without answering an offer for it (issue 21;
docs/protocol.md, *Spare m-sections and subscriber_tracks*).

Every offer carries a free audio and video m-section. When Cy publishes,
the server starts her camera on Ada's spare video m-section and tells Ada's
page whose it is (``subscriber_tracks``); the page shows it at once. Here
Ada's page holds back every ``subscriber_answer`` it sends from the moment
Cy comes, so nothing Cy brings can reach Ada through an answered offer.
Real Chromium, the real ``conf-server``.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import new_meeting_page, wait_joined, wait_until
from test_join_in_parallel_e2e import sees_video

pytestmark = pytest.mark.e2e

#: Holds the page's ``subscriber_answer`` messages back while
#: ``window.__answers.on``; ``window.__answers.release()`` sends them.
HOLD_ANSWERS = r"""
(() => {
  const answers = (window.__answers = {
    on: false,
    held: [],
    release() {
      this.on = false;
      for (const [send, data] of this.held.splice(0)) send(data);
    },
  });
  const Original = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Original(...args);
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      if (answers.on && typeof data === "string" && /^42\d*\["subscriber_answer"/.test(data)) {
        answers.held.push([send, data]);
        return;
      }
      return send(data);
    };
    return socket;
  };
  window.WebSocket.prototype = Original.prototype;
  Object.setPrototypeOf(window.WebSocket, Original);
})();
"""

#: How long Cy's join, publish and first frames at Ada may take on a loaded
#: machine. Ada's held answer's acknowledgement times out after 10 s: her
#: page then reports an error, which is not what this test looks at.
ARRIVAL_S = 20


async def test_a_page_shows_a_newcomer_while_its_answers_are_held_back(
    browser: Any, conf_server: Any
) -> None:
    contexts: list[Any] = []
    room = "spare-slots"
    try:
        ada = await new_meeting_page(browser, contexts, "Ada")
        await ada.context.add_init_script(HOLD_ANSWERS)
        await ada.goto(f"{conf_server.url}/r/{room}?name=Ada&autojoin=1")
        await wait_joined(ada)
        bob = await new_meeting_page(browser, contexts, "Bob")
        await bob.goto(f"{conf_server.url}/r/{room}?name=Bob&autojoin=1")
        # Bob's video at Ada: the offer that brought it (and Ada's spare
        # m-sections) has been answered and applied.
        await wait_until(lambda: sees_video(ada, 1), 15)

        await ada.evaluate("window.__answers.on = true")
        cy = await new_meeting_page(browser, contexts, "Cy")
        await cy.goto(f"{conf_server.url}/r/{room}?name=Cy&autojoin=1")
        await wait_until(lambda: sees_video(ada, 2), ARRIVAL_S)
        assert await ada.evaluate("window.__answers.on"), "answers were let through"
        await ada.evaluate("window.__answers.release()")
        # Cy sees both others as usual.
        await wait_until(lambda: sees_video(cy, 2), ARRIVAL_S)
    finally:
        for context in contexts:
            await context.close()
