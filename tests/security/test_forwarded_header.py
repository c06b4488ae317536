"""The header by which one node tells another that it relayed a request
(``X-Conf-Forwarded-By: node.signature``) comes, on a public route, from
anybody: a forged one, whatever bytes it holds, is simply not a node's."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from running_server import RunningServer

from conf_server.http.node_forwarding import FORWARDED_HEADER


async def raw_post(server: RunningServer, path: str, header_value: bytes) -> tuple[int, dict]:
    """POST ``{"password": "x"}`` with the forwarded header set to raw bytes
    (an HTTP client library would refuse non-ASCII in a header)."""
    url = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    body = b'{"password": "x"}'
    writer.write(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + FORWARDED_HEADER.encode()
        + b": "
        + header_value
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


async def test_a_forged_forwarded_header_with_any_bytes_is_no_internal_error(
    server: RunningServer,
) -> None:
    # A public route that reads the header: opening a shared recording.
    for value in ("n.é".encode(), b"n.\xff\xfe", b"n.0123abc", b".", b"\xc3\xa9"):
        status, body = await raw_post(server, "/api/v1/shares/no-such-share/session", value)
        assert status == 404, (value, status, body)
        assert body["error"]["code"] != "internal_error"
