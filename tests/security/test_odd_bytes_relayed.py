"""Odd header bytes in a request that one node relays to another
(conf_server/http/node_forwarding.py): header bytes that are no UTF-8 reach
the handler as lone surrogates, which no HTTP client can send on as they are;
the relayed request must still get the answer the other node gives such a
header (here 416 for a malformed range), never internal_error."""

from __future__ import annotations

from deployment import http

from security.test_files import CONTENT, TRACK, two_nodes
from security.test_odd_bytes import raw_http, request_bytes

__all__ = ["two_nodes"]  # the fixture, imported for pytest


async def test_a_relayed_request_with_header_bytes_that_are_no_utf8_is_answered(two_nodes):
    a, b, recording_id = two_nodes
    target = f"/api/v1/recordings/{recording_id}/files/{TRACK}".encode()
    for header, wanted in (
        (b"Range: bytes=\xff-", 416),
        # aiohttp's client drops what it cannot encode: this went on as 0-9.
        (b"Range: bytes=0\xff-9", 416),
        (b"Range: bytes=0-9", 206),
        (b'If-None-Match: "\xff"', 200),
        (b"If-Range: \xed\xb3\xbf", 200),
        ("If-Range: \u00e9".encode(), 200),
        (b"Authorization: Bearer \xff", 401),
    ):
        direct = await raw_http(a.url, request_bytes("GET", target, [header]))
        relayed = await raw_http(b.url, request_bytes("GET", target, [header]))
        assert direct[0] == wanted, (header, direct)
        assert relayed[0] == wanted, (header, relayed)
        if wanted == 200:
            assert CONTENT[:1000] in relayed[1]


async def test_a_relayed_body_that_does_not_decode_is_invalid_json(two_nodes):
    a, b, recording_id = two_nodes
    status, share = await http(
        a.url,
        "POST",
        f"/api/v1/recordings/{recording_id}/shares",
        json={"password": "secret-password", "expires_in": 3600},
    )
    assert status == 201, share
    # Opening a share relays before it reads the password (b has no such recording).
    target = f"/api/v1/shares/{share['share_id']}/session".encode()
    for node in (a, b):
        request = request_bytes(
            "POST", target, [b"Content-Encoding: gzip"], b"no gzip at all", key=False
        )
        status, answer = await raw_http(node.url, request)
        assert status == 400 and b"invalid_json" in answer, (node.url, status, answer)
