"""examples/uc_chat_app.py runs the whole chat-app flow against a real server:
webhook registration, escalation, signed webhooks, the report."""

from __future__ import annotations

import importlib.util
import io
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from server_keys import ADMIN_KEY

from conf_server import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "uc_chat_app.py"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The example's webhook receiver is on loopback: the documented opt-in.
    return replace(settings, webhook_allowed_networks=("127.0.0.0/8",))


def load_example():
    spec = importlib.util.spec_from_file_location("uc_chat_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["uc_chat_app"] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_example_escalates_gets_signed_webhooks_and_prints_the_report(server):
    example = load_example()
    out = io.StringIO()
    app = example.ChatApp(server.url, ADMIN_KEY, free_port(), out)
    report = await app.run(simulate=True, timeout=30)
    text = out.getvalue()
    assert "host link (Ada):" in text and text.count("invite for") == 2
    assert "[chat thread] Bob (in the meeting): On it, checking the load balancer." in text
    kinds = [event["type"] for event in app.events]
    for kind in ("meeting.started", "participant.joined", "chat.message", "poll.closed"):
        assert kind in kinds
    assert kinds[-1] == "meeting.ended" or "meeting.ended" in kinds
    assert {row["user_id"] for row in report["attendance"]} == {"u-ada", "u-bob"}
    assert "poll 'Roll back?': Yes: 1, No: 0" in text
    # The meeting.summary, signed like every webhook, posted into the chat thread.
    assert kinds.count("meeting.summary") == 1
    # Made after meeting.ended (arrival order is not guaranteed: concurrent deliveries).
    made = {event["type"]: event["created_at"] for event in app.events}
    assert made["meeting.summary"] >= made["meeting.ended"]
    posted = "\n".join(app.chat_thread)
    assert "Meeting summary: 'Incident call'" in posted
    assert "Attended by 2: Ada (" in posted and ", Bob (" in posted
    assert "Poll 'Roll back?': Yes: 1, No: 0" in posted
    assert "Decision: Roll back to the last release (marked by Ada)" in posted
    assert "[chat thread] Decision: Roll back to the last release" in text


def test_the_signature_check_refuses_forgeries_and_replays():
    example = load_example()
    import hashlib
    import hmac
    import time

    body, secret, now = b'{"id": "evt_1"}', "s3cret", str(int(time.time()))
    good = "v1=" + hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert example.signature_ok(secret, now, body, good)
    assert not example.signature_ok(secret, now, body + b" ", good)
    assert not example.signature_ok("other", now, body, good)
    old = str(int(time.time()) - 3600)
    stale = "v1=" + hmac.new(secret.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
    assert not example.signature_ok(secret, old, body, stale)
