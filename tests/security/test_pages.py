"""Room names match whole (issue 13, point 11) and the HTTP pages' security
headers hold (point 12): CSP, no framing, nosniff, no referrer, only the
client's assets under /static/, no versions in ``Server``; the web client
still works in Chromium under that policy."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from e2e_helpers import browser, conf_server, test_network, tid, wait_joined
from playwright.async_api import Page, expect
from server_keys import ADMIN_KEY

__all__ = ["browser", "conf_server", "test_network"]  # fixtures of the browser test

LOOK_ALIKES = ["abc\n", "abc\r\n", "\nabc", "abc\x00", "abc def", "ab/c"]


async def get(server: Any, path: str, **kwargs: Any) -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}{path}", allow_redirects=False, **kwargs) as response,
    ):
        return response.status, await response.text(), response.headers


# -- point 11 ----------------------------------------------------------------------------


@pytest.mark.parametrize("room", LOOK_ALIKES, ids=repr)
async def test_a_room_name_with_a_trailing_newline_is_not_a_room(server, make_member, room):
    status, _, _ = await get(server, f"/r/{quote(room, safe='')}")
    assert status == 404
    status, _, _ = await get(server, f"/api/v1/rooms/{quote(room, safe='')}")
    assert status in (400, 404)
    member = await make_member("Ada")
    payload = {"protocol": 1, "room": room, "name": "Ada", "receive": False}
    assert (await member.error_of("join", payload))["code"] == "invalid_payload"
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http,
        http.post(f"{server.url}/api/v1/meetings", json={"room": room}) as response,
    ):
        assert response.status == 400
    assert await server.service.store.rooms() == []


async def test_api_room_lookup_refuses_a_trailing_newline(server):
    status, body, _ = await get(server, "/api/v1/rooms/abc%0A")
    assert status == 400 and "invalid_room" in body


async def test_client_ids_and_check_in_codes_match_whole(make_member):
    member = await make_member("Ada")
    payload = {"protocol": 1, "room": "r", "name": "Ada", "receive": False, "client_id": "c1\n"}
    assert (await member.error_of("join", payload))["code"] == "invalid_payload"
    payload = {"protocol": 1, "room": "r", "name": "Ada", "receive": False, "checkin": "ABCD\n"}
    assert (await member.error_of("join", payload))["code"] == "invalid_payload"


# -- point 12 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/r/standup", "/admin", "/s/any-share-id", "/static/js/room.js", "/nope"]
)
async def test_every_response_has_the_security_headers(server, path):
    _, _, headers = await get(server, path)
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "connect-src 'self'",
    ):
        assert directive in csp, directive
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/api/v1/rooms/standup", "/healthz", "/nope"])
async def test_the_server_header_names_no_versions(server, path):
    _, _, headers = await get(server, path)
    assert headers["Server"] == "conf-server"
    assert "Python" not in headers["Server"] and "aiohttp" not in headers["Server"]


async def test_api_answers_have_the_headers_too(server):
    _, _, headers = await get(server, "/api/v1/rooms/standup")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_the_policy_lets_pages_connect_to_the_other_nodes(server):
    """``wrong_node`` sends a page's Socket.IO to another node of the deployment."""
    from conf_server.cluster.cluster import NodeInfo

    await server.service.cluster.heartbeat(NodeInfo("meet-2", "https://meet-2.example.org"), 60)
    for _ in range(100):  # the node agent learns the live nodes once a heartbeat (1 s)
        _, _, headers = await get(server, "/r/standup")
        connect = next(
            d for d in headers["Content-Security-Policy"].split("; ") if d.startswith("connect-src")
        )
        if "https://meet-2.example.org" in connect:
            break
        await asyncio.sleep(0.1)
    assert "https://meet-2.example.org" in connect and "wss://meet-2.example.org" in connect
    assert "http:" not in connect.split() and "*" not in connect


@pytest.mark.parametrize(
    "path",
    [
        "/static/README.md",
        "/static/package.json",
        "/static/package-lock.json",
        "/static/node_modules/socket.io-client/package.json",
        "/static/index.html",
        "/static/js/../README.md",
        "/static/js/%2e%2e/README.md",
        "/static/",
        "/static/js/",
    ],
)
async def test_static_serves_only_the_client_assets(server, path):
    status, _, _ = await get(server, path)
    assert status in (403, 404)


@pytest.mark.parametrize(
    "path", ["/static/js/room.js", "/static/js/ui/dom.js", "/static/css/app.css"]
)
async def test_static_still_serves_the_client(server, path):
    status, _, headers = await get(server, path)
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"


# -- the web client under the policy, in Chromium ------------------------------------------

#: Records every CSP violation of a page (blocked scripts, styles, connections).
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


async def watched_page(browser: Any, contexts: list[Any], messages: list[str]) -> Page:
    context = await browser.new_context(
        permissions=["camera", "microphone"], viewport={"width": 1280, "height": 720}
    )
    contexts.append(context)
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    return page


async def violations(page: Page, messages: list[str]) -> list[str]:
    recorded: list[str] = await page.evaluate("window.__csp")
    said = [m for m in messages if "Content Security Policy" in m or "Content-Security" in m]
    return recorded + said


@pytest.mark.e2e
async def test_the_web_client_works_under_the_policy(conf_server, browser):
    contexts: list[Any] = []
    messages: list[str] = []
    try:
        # The landing page creates a meeting without a key (random room).
        host = await watched_page(browser, contexts, messages)
        await host.goto(f"{conf_server.url}/")
        await host.fill(tid("start-name-input"), "Hana")
        await host.click(tid("start-button"))
        await host.wait_for_url("**/r/**")
        room = host.url.split("/r/")[1].split("?")[0]
        await host.click(tid("join-button"))
        await wait_joined(host)
        guest = await watched_page(browser, contexts, messages)
        await guest.goto(f"{conf_server.url}/r/{room}?name=Bob&autojoin=1")
        await wait_joined(guest)
        await expect(host.locator(tid("tile"))).to_have_count(2, timeout=15_000)

        # A poll with results: its bars are the client's style attributes.
        await host.click(tid("polls-button"))
        await host.fill(tid("poll-question-input"), "Lunch?")
        options = host.locator(tid("poll-option-input"))
        await options.nth(0).fill("Pizza")
        await options.nth(1).fill("Sushi")
        await host.click(tid("poll-create-button"))
        poll = host.locator(tid("poll"))
        await poll.locator(tid("poll-launch-button")).click()
        await expect(poll).to_have_attribute("data-state", "open")
        await guest.click(tid("polls-button"))
        theirs = guest.locator(tid("poll"))
        await expect(theirs).to_have_attribute("data-state", "open", timeout=15_000)
        await theirs.locator(f'{tid("poll-choice")}[data-option-id="o1"]').check()
        await theirs.locator(tid("poll-vote-button")).click()
        result = host.locator(f'{tid("poll-result")}[data-option-id="o1"]')
        await expect(result).to_have_attribute("data-votes", "1", timeout=15_000)
        # Applied, not blocked (a blocked style attribute leaves el.style empty).
        width = await host.locator(".poll-bar-fill").first.evaluate("el => el.style.width")
        assert width.endswith("%")

        # Chat, and the admin page's scripts.
        await guest.click(tid("chat-button"))
        await guest.fill(tid("chat-input"), "Hello under a CSP")
        await guest.press(tid("chat-input"), "Enter")
        await host.click(tid("chat-button"))
        await expect(host.locator(tid("chat-panel"))).to_contain_text("Hello under a CSP")
        admin = await watched_page(browser, contexts, messages)
        await admin.goto(f"{conf_server.url}/admin")
        await admin.wait_for_load_state("networkidle")

        for page in (host, guest, admin):
            assert await violations(page, messages) == []
    finally:
        for context in contexts:
            await context.close()
