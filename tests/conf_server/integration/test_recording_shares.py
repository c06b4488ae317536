"""Password-protected share links of a recording, against a real running
server and a real rendered recording (tests/shared_recording.py): made,
listed and revoked by an admin or a host; opened with the password only; the
session opens that recording's video (HTTP Range) and transcript and nothing
else; wrong passwords limited per link and per address; expiry, revocation
and deletion close the link; everything audited; answers as documented."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import time
from typing import Any

import aiohttp
import av
import pytest
from openapi_schemas import OpenApiSchemas
from running_server import RunningServer, running
from server_keys import ADMIN_KEY
from shared_recording import SEGMENTS, TITLE, shared_recording
from signaling_client import SignalingClient

from conf_server import Settings
from conf_server.integration.recording_shares import SHARES_FILE
from recording.composite import COMPOSITE_FILE

PASSWORD = "correct horse battery"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


class Http:
    """One browser-like client: its own cookie jar, optionally its own address
    (``X-Forwarded-For``, believed from the loopback proxy the tests configure)."""

    def __init__(self, server: RunningServer, address: str | None = None) -> None:
        self.server = server
        headers = {"X-Forwarded-For": address} if address else {}
        self.session = aiohttp.ClientSession(
            headers=headers, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def call(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        async with self.session.request(method, self.server.url + path, **kwargs) as response:
            if response.content_type == "application/json":
                body: Any = await response.json()
            else:
                body = await response.read()
            return response.status, body, response

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))


@pytest.fixture
async def http(server: RunningServer) -> Any:
    clients: list[Http] = []

    def make(address: str | None = None) -> Http:
        clients.append(Http(server, address))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def recording_id(settings: Settings) -> str:
    return shared_recording(settings.recordings_dir)


async def make_share(client: Http, recording_id: str, **fields: Any) -> dict[str, Any]:
    expiry = {} if "expires_at" in fields else {"expires_in": 3600}
    body = {"password": PASSWORD, **expiry, **fields}
    status, share, _ = await client.call(
        "POST", f"/api/v1/recordings/{recording_id}/shares", json=body, headers=ADMIN
    )
    assert status == 201, share
    return share


async def document(client: Http) -> OpenApiSchemas:
    _, doc, _ = await client.call("GET", "/api/v1/openapi.json")
    return OpenApiSchemas(doc)


async def test_the_password_opens_the_video_and_transcript_of_that_recording_only(
    http: Any, recording_id: str, settings: Settings
) -> None:
    admin, viewer = http(), http()
    api = await document(admin)
    share = await make_share(admin, recording_id, note="for the board")
    api.check(share, api.response_schema("/api/v1/recordings/{recording_id}/shares", "post", 201))
    share_id = share["share_id"]
    secret = share_id.split(".", 1)[1]
    assert share["url"] == f"/s/{share_id}" and len(secret) == 22  # 128 random bits
    base = f"/api/v1/shares/{share_id}"

    # The page is served; the link is good; nothing plays before the password.
    status, page, _ = await viewer.call("GET", share["url"])
    assert status == 200 and b"share-password-input" in page
    status, body, _ = await viewer.call("GET", base)
    assert status == 200 and body["state"] == "active"
    status, body, _ = await viewer.call("GET", f"{base}/video")
    assert status == 401 and body["error"]["code"] == "share_session_required"
    status, body, _ = await viewer.call("POST", f"{base}/session", json={"password": "wrong one"})
    assert status == 401 and body["error"]["code"] == "wrong_password"
    status, body, _ = await viewer.call("GET", f"{base}/video")
    assert status == 401

    # The right password: a session cookie for this share's routes only.
    status, session, response = await viewer.call(
        "POST", f"{base}/session", json={"password": PASSWORD}
    )
    assert status == 200, session
    api.check(session, api.response_schema("/api/v1/shares/{share_id}/session", "post", 200))
    assert session["title"] == TITLE and session["video_url"] == f"{base}/video"
    cookie = response.cookies["share_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == base
    assert 3500 < int(cookie["max-age"]) <= 3600 and not cookie["secure"]  # plain http here

    # The composite, with Range for seeking, byte for byte; it decodes as video.
    on_disk = (settings.recordings_dir / recording_id / COMPOSITE_FILE).read_bytes()
    status, part, response = await viewer.call(
        "GET", session["video_url"], headers={"Range": "bytes=100-199"}
    )
    assert status == 206 and part == on_disk[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(on_disk)}"
    status, whole, _ = await viewer.call("GET", session["video_url"])
    assert status == 200 and whole == on_disk
    with av.open(io.BytesIO(whole)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 10

    # The transcript, as WebVTT (for the <track>) and as text.
    status, vtt, _ = await viewer.call("GET", session["transcript"]["vtt"])
    assert status == 200 and vtt.startswith(b"WEBVTT") and SEGMENTS[0].text.encode() in vtt
    status, txt, _ = await viewer.call("GET", session["transcript"]["txt"])
    assert status == 200 and SEGMENTS[1].text.encode() in txt

    # The cookie opens nothing else: another share of the same recording, the
    # recording's own files, the admin routes.
    other = await make_share(admin, recording_id)
    cookie_header = {"Cookie": f"share_session={cookie.value}"}
    status, body, _ = await viewer.call(
        "GET", f"/api/v1/shares/{other['share_id']}/video", headers=cookie_header
    )
    assert status == 401 and body["error"]["code"] == "share_session_required"
    status, _, _ = await viewer.call(
        "GET", f"/api/v1/recordings/{recording_id}/files/{COMPOSITE_FILE}", headers=cookie_header
    )
    assert status == 401

    # The admin sees the shares and the audit trail, never a password or hash.
    status, listing, _ = await admin.call(
        "GET", f"/api/v1/recordings/{recording_id}/shares", headers=ADMIN
    )
    assert status == 200
    api.check(listing, api.response_schema("/api/v1/recordings/{recording_id}/shares", "get", 200))
    assert [s["share_id"] for s in listing["shares"]] == [share_id, other["share_id"]]
    assert listing["shares"][0]["note"] == "for the board"
    events = [(e["event"], e["share_id"]) for e in listing["audit"]]
    for event in ("created", "wrong_password", "opened", "served"):
        assert (event, share_id) in events, event
    served = {e["detail"] for e in listing["audit"] if e["event"] == "served"}
    assert served >= {COMPOSITE_FILE, "transcript.vtt", "transcript.txt"}
    assert all(e["address"] == "127.0.0.1" for e in listing["audit"])
    assert PASSWORD not in json.dumps(listing) and "salt" not in json.dumps(listing)

    # On disk: a slow salted hash only; the file is not one of the recording's files.
    stored = (settings.recordings_dir / recording_id / SHARES_FILE).read_text()
    assert PASSWORD not in stored
    hashes = [s["password"] for s in json.loads(stored)["shares"]]
    assert all(h["algorithm"] == "scrypt" and h["n"] >= 2**14 for h in hashes)
    assert hashes[0]["salt"] != hashes[1]["salt"]  # same password, different salts
    status, record, _ = await admin.call("GET", f"/api/v1/recordings/{recording_id}", headers=ADMIN)
    assert SHARES_FILE not in {f["name"] for f in record["files"]}


async def test_wrong_passwords_are_limited_per_link_and_per_address(
    http: Any, recording_id: str
) -> None:
    admin = http()
    first, second, third = [await make_share(admin, recording_id) for _ in range(3)]
    first_route, second_route, third_route = (
        f"/api/v1/shares/{share['share_id']}/session" for share in (first, second, third)
    )

    # Per link: five wrong tries from five addresses, then the link waits.
    for n in range(5):
        status, _, _ = await http(f"198.51.100.{n}").call(
            "POST", first_route, json={"password": f"guess {n}"}
        )
        assert status == 401
    status, body, response = await http("198.51.100.99").call(
        "POST", first_route, json={"password": PASSWORD}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 13  # a try back every 12 s

    # Per address: five wrong tries on one link, then that address waits on
    # every link, even with the right password; another address does not.
    attacker = http("203.0.113.7")
    for n in range(5):
        status, _, _ = await attacker.call("POST", second_route, json={"password": f"nope {n}"})
        assert status == 401
    status, body, response = await attacker.call("POST", third_route, json={"password": PASSWORD})
    assert status == 429 and "Retry-After" in response.headers
    status, _, _ = await http("203.0.113.8").call("POST", third_route, json={"password": PASSWORD})
    assert status == 200

    # An absurdly long guess is wrong without being hashed, and counted.
    status, body, _ = await http("192.0.2.1").call(
        "POST", third_route, json={"password": "x" * 60_000}
    )
    assert status == 401 and body["error"]["code"] == "wrong_password"


async def test_a_burst_of_guesses_sent_at_once_gets_no_more_tries(
    http: Any, recording_id: str
) -> None:
    admin = http()
    share = await make_share(admin, recording_id)
    route = f"/api/v1/shares/{share['share_id']}/session"
    guessers = [http(f"198.18.0.{n}") for n in range(20)]
    answers = await asyncio.gather(
        *(g.call("POST", route, json={"password": f"guess {n}"}) for n, g in enumerate(guessers))
    )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(401) <= 5 and set(statuses) <= {401, 429}
    _, listing, _ = await admin.call(
        "GET", f"/api/v1/recordings/{recording_id}/shares", headers=ADMIN
    )
    assert sum(e["event"] == "wrong_password" for e in listing["audit"]) == statuses.count(401)


async def test_revoked_and_expired_links_stop_at_once(
    http: Any, recording_id: str, settings: Settings
) -> None:
    admin, viewer = http(), http()
    share = await make_share(admin, recording_id)
    base = f"/api/v1/shares/{share['share_id']}"
    status, session, _ = await viewer.call("POST", f"{base}/session", json={"password": PASSWORD})
    assert status == 200
    status, _, _ = await viewer.call("GET", session["video_url"], headers={"Range": "bytes=0-9"})
    assert status == 206

    status, revoked, _ = await admin.call(
        "DELETE", f"/api/v1/recordings/{recording_id}/shares/{share['share_id']}", headers=ADMIN
    )
    assert status == 200 and revoked["state"] == "revoked" and revoked["revoked_at"]
    for method, path, body in (
        ("GET", base, None),
        ("GET", session["video_url"], None),  # the session stops with the link
        ("POST", f"{base}/session", {"password": PASSWORD}),
    ):
        status, answer, _ = await viewer.call(method, path, json=body)
        assert status == 410 and answer["error"]["code"] == "share_revoked", path

    # Expired: time passes (the stored expiry is moved into the past).
    later = await make_share(admin, recording_id, expires_at=time.time() + 120)
    path = settings.recordings_dir / recording_id / SHARES_FILE
    data = json.loads(path.read_text())
    for entry in data["shares"]:
        if entry["id"] == later["share_id"]:
            entry["expires_at"] = time.time() - 1
    path.write_text(json.dumps(data))
    status, answer, _ = await viewer.call("GET", f"/api/v1/shares/{later['share_id']}")
    assert status == 410 and answer["error"]["code"] == "share_expired"
    status, listing, _ = await admin.call(
        "GET", f"/api/v1/recordings/{recording_id}/shares", headers=ADMIN
    )
    assert [s["state"] for s in listing["shares"]] == ["revoked", "expired"]
    assert ("revoked", share["share_id"]) in [(e["event"], e["share_id"]) for e in listing["audit"]]


async def test_deleting_the_recording_deletes_its_shares(http: Any, recording_id: str) -> None:
    admin = http()
    share = await make_share(admin, recording_id)
    status, _, _ = await admin.call("DELETE", f"/api/v1/recordings/{recording_id}", headers=ADMIN)
    assert status == 200
    status, body, _ = await http().call("GET", f"/api/v1/shares/{share['share_id']}")
    assert status == 404 and body["error"]["code"] == "share_not_found"
    status, body, _ = await admin.call(
        "GET", f"/api/v1/recordings/{recording_id}/shares", headers=ADMIN
    )
    assert status == 404


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"password": "short", "expires_in": 600}, "invalid_password"),
        ({"password": "p" * 257, "expires_in": 600}, "invalid_password"),
        ({"password": 12345678, "expires_in": 600}, "invalid_password"),
        ({"password": PASSWORD}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_in": 600, "expires_at": 1e10}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_in": 30}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_in": 91 * 86400}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_at": 1000}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_in": True}, "invalid_expiry"),
        ({"password": PASSWORD, "expires_in": 600, "note": "n" * 201}, "invalid_request"),
        ({"password": PASSWORD, "expires_in": 600, "admin": True}, "invalid_request"),
    ],
)
async def test_bad_share_requests_get_clear_errors(
    http: Any, recording_id: str, fields: dict[str, Any], code: str
) -> None:
    status, body, _ = await http().call(
        "POST", f"/api/v1/recordings/{recording_id}/shares", json=fields, headers=ADMIN
    )
    assert status == 400 and body["error"]["code"] == code


async def test_who_may_manage_shares_and_unknown_links(http: Any, recording_id: str) -> None:
    client = http()
    route = f"/api/v1/recordings/{recording_id}/shares"
    body = {"password": PASSWORD, "expires_in": 600}
    assert (await client.call("POST", route, json=body))[0] == 401
    assert (await client.call("GET", route))[0] == 401
    assert (await client.call("POST", route + "?download_token=1.abc", json=body))[0] == 401
    status, answer, _ = await client.call(
        "POST", "/api/v1/recordings/AAAAAAAAAAAAAAAAAAAAAA/shares", json=body, headers=ADMIN
    )
    assert status == 404
    for share_id in ("nonsense", f"{recording_id}.{'A' * 22}", "../../etc/passwd"):
        status, answer, _ = await client.call("GET", f"/api/v1/shares/{share_id}")
        assert status == 404, share_id
    status, answer, _ = await client.call(
        "POST", f"/api/v1/shares/{recording_id}.{'A' * 22}/session", json={"password": PASSWORD}
    )
    assert status == 404 and answer["error"]["code"] == "share_not_found"


async def test_a_host_manages_shares_through_the_signed_shares_url(
    settings: Settings, recording_id: str
) -> None:
    async with running(settings, recording_host_download=True) as server:
        host, guest = SignalingClient(server.url, "Hana"), SignalingClient(server.url, "Gus")
        try:
            for client in (host, guest):
                await client.connect()
                await client.join("shares")
            await host.call("recording", {"action": "start"})
            await host.call("recording", {"action": "stop"})
            (recording,) = (await host.call("recording_links"))["recordings"]
            shares_url = recording["shares_url"]
            assert shares_url.startswith(f"/api/v1/recordings/{recording['id']}/shares?")
            viewer = Http(server)
            try:
                body = {"password": PASSWORD, "expires_in": 600}
                status, share, _ = await viewer.call("POST", shares_url, json=body)
                assert status == 201 and share["created_by"] == "host"
                status, listing, _ = await viewer.call("GET", shares_url)
                assert status == 200 and len(listing["shares"]) == 1
                # That token manages that recording's shares only, and opens no file.
                other = shares_url.replace(recording["id"], recording_id)
                assert (await viewer.call("POST", other, json=body))[0] == 401
                token = shares_url.split("download_token=")[1]
                file_url = (
                    f"/api/v1/recordings/{recording['id']}/files/timeline.json"
                    f"?download_token={token}"
                )
                assert (await viewer.call("GET", file_url))[0] == 401
                revoke = shares_url.replace("/shares?", f"/shares/{share['share_id']}?")
                status, revoked, _ = await viewer.call("DELETE", revoke)
                assert status == 200 and revoked["state"] == "revoked"
            finally:
                await viewer.close()
            assert (await guest.error_of("recording_links"))["code"] == "forbidden"
        finally:
            await host.close()
            await guest.close()


async def test_without_host_downloads_a_host_token_manages_nothing(
    server: RunningServer, recording_id: str
) -> None:
    links = server.service.download_links
    assert links is not None
    token = links.token(recording_id, "@shares")
    client = Http(server)
    try:
        status, body, _ = await client.call(
            "GET", f"/api/v1/recordings/{recording_id}/shares?download_token={token}"
        )
        assert status == 401 and "administrators" in body["error"]["message"]
    finally:
        await client.close()
