"""Meeting reports: attendance (in-room or remote), polls (anonymous ones without
names), chat transcript; JSON and CSV; kept after the meeting."""

from __future__ import annotations

import csv
import io

from api_client import call
from server_keys import ADMIN_KEY


async def run_meeting(make_member):
    host = await make_member("Hana", room="rep")
    device = await make_member("Aula", room="rep", mode="room", zone="Aula")
    remote = await make_member("Remo", room="rep")
    named = await host.call("poll_create", {"question": "Lunch?", "options": ["Pizza", "Soup"]})
    secret = await host.call(
        "poll_create", {"question": "Mood?", "options": ["Good", "Bad"], "anonymous": True}
    )
    for poll in (named, secret):
        await host.call("poll_launch", {"poll_id": poll["poll"]["poll_id"]})
    await remote.call("poll_vote", {"poll_id": named["poll"]["poll_id"], "option_ids": ["o2"]})
    await remote.call("poll_vote", {"poll_id": secret["poll"]["poll_id"], "option_ids": ["o1"]})
    await device.call("poll_vote", {"poll_id": secret["poll"]["poll_id"], "option_ids": ["o2"]})
    await host.call("poll_close", {"poll_id": named["poll"]["poll_id"]})
    await remote.call("chat_send", {"text": "=cmd|' /C calc'!A0"})
    await host.call("chat_send", {"text": "thanks all"})
    return host, device, remote


async def test_report_of_a_live_meeting_and_after_it_ended(server, make_member):
    host, _device, remote = await run_meeting(make_member)
    meeting_id = host.meeting["meeting_id"]
    status, report = await call(server, "GET", f"/meetings/{meeting_id}/report", ADMIN_KEY)
    assert status == 200
    rows = {row["name"]: row for row in report["attendance"]}
    assert rows["Aula"]["presence"] == "in-room" and rows["Aula"]["zone"] == "Aula"
    assert rows["Remo"]["presence"] == "remote" and rows["Remo"]["left_at"] is None
    assert [m["text"] for m in report["chat"]] == ["=cmd|' /C calc'!A0", "thanks all"]
    lunch, mood = report["polls"]
    assert [o["votes"] for o in lunch["results"]["options"]] == [0, 1]
    assert lunch["ballots"] == [
        {"participant_id": remote.participant_id, "name": "Remo", "option_ids": ["o2"]}
    ]
    # The anonymous poll: counts only, no names, no ballots.
    assert [o["votes"] for o in mood["results"]["options"]] == [1, 1]
    assert "ballots" not in mood
    assert remote.participant_id not in str(mood) and "Remo" not in str(mood)

    await host.call("end_meeting")
    await host.disconnected.wait()
    # Forget the live state: the archived report answers.
    await server.service.store.delete("rep")
    status, archived = await call(server, "GET", f"/meetings/{meeting_id}/report", ADMIN_KEY)
    assert status == 200 and archived["ended"] is True
    assert all(row["left_at"] is not None for row in archived["attendance"])

    status, text = await call(
        server, "GET", f"/meetings/{meeting_id}/report?format=csv&table=attendance", ADMIN_KEY
    )
    table = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and {r["name"] for r in table} == {"Hana", "Aula", "Remo"}
    status, text = await call(
        server, "GET", f"/meetings/{meeting_id}/report?format=csv&table=polls", ADMIN_KEY
    )
    polls = list(csv.DictReader(io.StringIO(text)))
    assert {r["question"] for r in polls} == {"Lunch?", "Mood?"}


async def test_report_errors(server, make_member):
    host = await make_member("Hana", room="rep2")
    path = f"/meetings/{host.meeting['meeting_id']}/report"
    assert (await call(server, "GET", path))[0] == 401
    assert (await call(server, "GET", "/meetings/unknown/report", ADMIN_KEY))[0] == 404
    status, body = await call(server, "GET", path + "?format=xml", ADMIN_KEY)
    assert status == 400 and body["error"]["code"] == "invalid_request"
