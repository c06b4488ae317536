"""A small stand-in for the unified-communications chat app.

It does what the real chat app does with conf-server, using only the public
HTTP API, Socket.IO protocol and webhook contract (docs/rest-api.md,
docs/protocol.md):

1. registers a webhook endpoint (its own little HTTP server) with an admin key,
2. escalates a group chat to a meeting (``POST /api/v1/escalations``) and prints
   the host link and one invite link per chat member,
3. receives the webhooks, checks each signature, and "posts" meeting chat back
   to the chat thread (prints it),
4. when the meeting ends, fetches and prints the meeting report,
5. when the ``meeting.summary`` webhook comes (after the meeting's recordings
   are processed), posts the summary into the chat thread: who attended and
   how long, poll results, decisions, recording and transcript links.

Run a server with a bootstrap admin key (and, because this app receives its
webhooks on loopback, the documented opt-in for webhooks to 127.0.0.0/8; a real
chat app on a public address needs none), then the app:

    CONF_ADMIN_API_KEY=change-me CONF_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 \
        .venv/bin/conf-server &
    .venv/bin/python examples/uc_chat_app.py --server http://127.0.0.1:8080 --api-key change-me

Open the printed links in browsers; end the meeting from the host's menu and the
report appears, then the summary. ``--simulate`` joins two invitees itself
(Socket.IO, no media), chats, runs a poll, marks a decision and ends the
meeting, so the whole flow runs unattended.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import socketio
from aiohttp import web

SIGNATURE_TOLERANCE = 300  # seconds: older signed timestamps are replays


def signature_ok(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """The webhook signature check: HMAC-SHA256 over "<timestamp>.<body>"."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if age > SIGNATURE_TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    given = dict(part.split("=", 1) for part in header.split(",") if "=" in part).get("v1", "")
    return hmac.compare_digest(expected.hexdigest(), given)


class ChatApp:
    def __init__(self, server: str, api_key: str, port: int, out: Any = sys.stdout) -> None:
        self.server = server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.port = port
        self.out = out
        self.secret = ""
        self.events: list[dict[str, Any]] = []
        self.seen_ids: set[str] = set()
        self.ended = asyncio.Event()
        self.summarized = asyncio.Event()
        self.meeting_id = ""
        #: What this app posted into the (simulated) group chat.
        self.chat_thread: list[str] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        async with (
            aiohttp.ClientSession(headers=self.headers) as http,
            http.request(method, f"{self.server}/api/v1{path}", **kwargs) as response,
        ):
            body = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {body['error']}")
            return body

    # -- webhooks -----------------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(
            self.secret,
            request.headers.get("X-Conf-Timestamp", ""),
            body,
            request.headers.get("X-Conf-Signature", ""),
        ):
            self.say("! rejected a webhook with a bad signature")
            return web.Response(status=401)
        event = json.loads(body)
        if event["id"] in self.seen_ids:
            return web.Response(status=200)  # at-least-once: a repeat, already handled
        self.seen_ids.add(event["id"])
        self.events.append(event)
        self.handle(event)
        return web.Response(status=200)

    def handle(self, event: dict[str, Any]) -> None:
        data = event.get("data", {})
        if data.get("meeting_id") not in (None, self.meeting_id):
            return
        kind = event["type"]
        if kind == "chat.message":
            message = data["message"]
            self.post(f"{message['sender_name']} (in the meeting): {message['text']}")
        elif kind == "meeting.summary":
            for line in summary_lines(data):
                self.post(line)
            self.summarized.set()
        elif kind in ("participant.joined", "participant.left"):
            person = data["participant"]
            self.say(f"[webhook] {kind}: {person.get('name')} ({person.get('user_id')})")
        else:
            self.say(f"[webhook] {kind}")
        if kind == "meeting.ended":
            self.ended.set()

    def post(self, text: str) -> None:
        """Post into the group chat (here: keep it and print it)."""
        self.chat_thread.append(text)
        self.say(f"[chat thread] {text}")

    async def start_receiver(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hooks", self.receive)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner

    # -- the flow -------------------------------------------------------------------

    async def run(self, simulate: bool, timeout: float) -> dict[str, Any]:
        runner = await self.start_receiver()
        try:
            hook = await self.api(
                "POST", "/admin/webhooks", json={"url": f"http://127.0.0.1:{self.port}/hooks"}
            )
            self.secret = hook["secret"]
            meeting = await self.api(
                "POST",
                "/escalations",
                json={
                    "chat_id": f"demo-chat-{int(time.time())}",
                    "title": "Incident call",
                    "initiator": {"user_id": "u-ada", "name": "Ada"},
                    "participants": [
                        {"user_id": "u-bob", "name": "Bob"},
                        {"user_id": "u-cy", "name": "Cy"},
                    ],
                },
            )
            self.meeting_id = meeting["meeting_id"]
            self.say(f"Meeting {meeting['meeting_id']} in room {meeting['room']}")
            self.say(f"  host link (Ada): {meeting['host_url']}")
            for invite in meeting["invites"]:
                self.say(f"  invite for {invite['user_id']}: {invite['join_url']}")
            if simulate:
                await simulate_meeting(self.server, meeting)
            await asyncio.wait_for(self.ended.wait(), timeout)
            report = await self.api("GET", f"/meetings/{self.meeting_id}/report")
            self.print_report(report)
            # The summary follows once the meeting's recordings are processed.
            await asyncio.wait_for(self.summarized.wait(), timeout)
            return report
        finally:
            await runner.cleanup()

    def print_report(self, report: dict[str, Any]) -> None:
        self.say(f"Report of '{report['title']}':")
        for row in report["attendance"]:
            self.say(f"  {row['name']:<10} {row['presence']:<8} {row['seconds']:>8.1f} s")
        for poll in report["polls"]:
            results = poll["results"]
            counts = ", ".join(f"{o['text']}: {o['votes']}" for o in results["options"])
            self.say(f"  poll '{results['question']}': {counts}")
        self.say(f"  {len(report['chat'])} chat messages")


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def summary_lines(data: dict[str, Any]) -> list[str]:
    """The chat post of a ``meeting.summary`` (docs/rest-api.md, "The meeting
    summary"), one line each."""
    base = data.get("base_url") or ""
    lines = [f"Meeting summary: '{data.get('title')}' ({_minutes(data.get('duration'))})"]
    attendance = data["attendance"]
    names = ", ".join(f"{p['name']} ({_minutes(p['seconds'])})" for p in attendance["participants"])
    more = attendance["people"] - attendance["listed"]
    lines.append(
        f"Attended by {attendance['people']}: {names}" + (f" and {more} more" if more else "")
    )
    for poll in data["polls"]:
        counts = ", ".join(f"{o['text']}: {o['votes']}" for o in poll["options"])
        lines.append(f"Poll '{poll['question']}': {counts}")
    for questionnaire in data.get("questionnaires") or []:
        lines.append(f"Questionnaire '{questionnaire.get('title', '?')}'")
    for decision in data["decisions"]:
        lines.append(f"Decision: {decision['text']} (marked by {decision['by_name']})")
    for recording in data["recordings"]:
        links = recording["links"]
        line = f"Recording {recording['id']} ({recording['state']}): {base}{links['recording']}"
        if links.get("transcript"):
            line += f", transcript: {base}{links['transcript']}"
        lines.append(line)
    if not data["complete"]:
        lines.append(f"Still processing: {', '.join(data['still_processing'])}")
    return lines


async def simulate_meeting(server: str, meeting: dict[str, Any]) -> None:
    """Two invitees join over Socket.IO (no media), chat, vote, the host marks
    a decision and ends the meeting."""

    def token(url: str) -> str:
        return parse_qs(urlparse(url).query)["token"][0]

    people = [("Ada", token(meeting["host_url"]))] + [
        (invite["user_id"], token(invite["join_url"])) for invite in meeting["invites"][:1]
    ]
    clients = []
    for name, invite in people:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(server, transports=["websocket"])
        ack = await client.call(
            "join",
            {
                "protocol": 1,
                "room": meeting["room"],
                "name": name,
                "token": invite,
                "receive": False,
            },
        )
        if not ack["ok"]:
            raise RuntimeError(f"join refused: {ack['error']}")
        clients.append(client)
    host, guest = clients
    await guest.call("chat_send", {"text": "On it, checking the load balancer."})
    poll = await host.call("poll_create", {"question": "Roll back?", "options": ["Yes", "No"]})
    await host.call("poll_launch", {"poll_id": poll["poll"]["poll_id"]})
    await guest.call("poll_vote", {"poll_id": poll["poll"]["poll_id"], "option_ids": ["o1"]})
    await host.call("poll_close", {"poll_id": poll["poll"]["poll_id"]})
    await host.call("mark_decision", {"text": "Roll back to the last release"})
    await host.call("end_meeting", {})
    for client in clients:
        await client.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--api-key", required=True, help="an admin API key")
    parser.add_argument("--port", type=int, default=8099, help="port of the webhook receiver")
    parser.add_argument("--simulate", action="store_true", help="run the meeting by itself")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    app = ChatApp(args.server, args.api_key, args.port)
    asyncio.run(app.run(args.simulate, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
