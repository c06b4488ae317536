"""How much room a gallery page keeps for people who join later
(web_client/js/gallery_view.js ``roomForLater``) and how ``ViewSync`` sends it
(``set_view``'s ``later``, docs/protocol.md), in Node. Newcomers' tiles go
after everyone else's (join order), so only the last page has room, and only
its free tiles; a stage (spotlight, pin) leaves the strip's free tiles. The
server side: tests/integration/test_newcomer_in_view.py; the whole way in
Chromium: test_join_in_parallel_e2e.py."""

from __future__ import annotations

from pathlib import Path

from node_script import node_json

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"

SCRIPT = """
import { roomForLater, MAX_LATER } from "./js/gallery_view.js";
import { ViewSync } from "./js/view_sync.js";
const people = (n) => Array.from({ length: n }, (_, i) => `p_${i}`);
const desk = { width: 1264, height: 640, pageSize: 16, gap: 8 };
const out = {
  max: MAX_LATER,
  three: roomForLater({ ...desk, keys: people(3) }),
  fourteen: roomForLater({ ...desk, keys: people(14) }),
  full: roomForLater({ ...desk, keys: people(16) }),
  firstOfTwoPages: roomForLater({ ...desk, keys: people(17), page: 0 }),
  lastOfTwoPages: roomForLater({ ...desk, keys: people(17), page: 1 }),
  pageSizeFour: roomForLater({ ...desk, keys: people(3), pageSize: 4 }),
  staged: roomForLater({ ...desk, keys: people(3), stage: ["p_0"] }),
  limitTwo: roomForLater({ ...desk, keys: people(3) }, 2),
};
const sent = [];
const record = async (ids, details) => { sent.push(details ?? null); };
const sync = new ViewSync(record, { delayMs: 0, sizeDelayMs: 0 });
sync.joined();
sync.update(["p_1"], { sizes: { p_1: 360 }, later: 3 });
await new Promise((r) => setTimeout(r, 20));
sync.update(["p_1", "p_2"], { sizes: { p_1: 360, p_2: 360 }, later: 0 });
await new Promise((r) => setTimeout(r, 20));
sync.update(["p_1", "p_2"], { later: 2.4 });
await new Promise((r) => setTimeout(r, 20));
sync.update(["p_1", "p_2"], { later: 99 });
await new Promise((r) => setTimeout(r, 20));
out.sent = sent;
console.log(JSON.stringify(out));
"""


def test_a_page_keeps_room_for_newcomers_only_where_their_tiles_go():
    out = node_json(SCRIPT, WEB_CLIENT)
    assert out["max"] == 4
    assert out["three"] == 4  # three tiles of sixteen: room for more than the limit
    assert out["fourteen"] == 2
    assert out["full"] == 0  # a seventeenth tile starts a second page
    assert out["firstOfTwoPages"] == 0  # newcomers go to the last page
    assert out["lastOfTwoPages"] == 4
    assert out["pageSizeFour"] == 1
    assert out["staged"] == 4  # the strip beside the stage has room
    assert out["limitTwo"] == 2


def test_the_view_carries_later_only_when_there_is_room():
    sent = node_json(SCRIPT, WEB_CLIENT)["sent"]
    assert sent[0] == {"sizes": {"p_1": 360}, "pinned": [], "later": 3}
    assert sent[1] == {"sizes": {"p_1": 360, "p_2": 360}, "pinned": []}  # no `later` key
    assert sent[2] == {"sizes": {}, "pinned": [], "later": 2}
    assert sent[3] == {"sizes": {}, "pinned": [], "later": 16}  # the server's limit
