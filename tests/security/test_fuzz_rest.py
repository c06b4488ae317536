"""Fuzzing the HTTP surface against a real server (docs/security.md,
"Fuzzing"): every route of the OpenAPI document, the pages and static files,
and raw HTTP requests. Invariants, for every example:

- no 5xx, except a 5xx that docs/rest-api.md documents for that code (never
  ``internal_error``);
- under ``/api/v1`` every error is ``{"error": {"code", "message"}}`` with a
  (status, code) pair that docs/rest-api.md documents;
- ``/static/`` serves nothing from outside ``web_client/``, ``/assets/`` nothing but the
  files of the bundle's manifest;
- the server logs no error and no traceback, and ``/healthz`` answers.

Requests use the documented method, path, query parameters and body fields
with plausible and hostile values (wrong types, huge and deep JSON, invalid
UTF-8, lone surrogates, percent-encoded slashes and NULs), every kind of key
(none, admin, integration, forged) and random content types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import aiohttp
from hypothesis import example, given
from hypothesis import strategies as st
from server_keys import ADMIN_KEY
from yarl import URL

from security.conftest import (
    INTEGRATION_KEY,
    Fuzz,
    deep_json,
    fuzzing,
    json_values,
    nasty_ints,
    nasty_text,
    rest_errors,
    weighted,
)

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"
#: Webhook URLs that can only ever reach this machine (port 9: discard, closed).
SAFE_URLS = ("http://127.0.0.1:9/hook", "https://127.0.0.1:9/x", "http://[::1]:9/")
#: Valid HTTP methods only: a method the HTTP parser refuses never reaches the
#: API (the raw HTTP test sends those).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "TRACE")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    "json",
)


def header_text(max_size: int) -> st.SearchStrategy[str]:
    """Header values aiohttp's client agrees to send (Latin-1, no controls)."""
    return st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=max_size)


def authorizations() -> st.SearchStrategy[str | None]:
    """Mostly real keys (so requests reach the handlers), else none or forged."""
    return weighted(
        (5, st.just(f"Bearer {ADMIN_KEY}")),
        (2, st.just(f"Bearer {INTEGRATION_KEY}")),
        (1.5, st.none()),
        (
            1,
            st.sampled_from(
                [
                    "Bearer ",
                    "Bearer ck_000000000000_forged",
                    f"bearer {ADMIN_KEY}",
                    f"Basic {ADMIN_KEY}",
                    f"Bearer {ADMIN_KEY} extra",
                    f"Bearer {ADMIN_KEY[:-1]}",
                ]
            ),
        ),
        (0.5, header_text(60)),
    )


def url_text(max_size: int) -> st.SearchStrategy[str]:
    """Hostile text for paths and queries, short enough that the request line
    stays under aiohttp's 8 KiB (longer lines are the raw HTTP test's)."""
    return nasty_text(max_size, huge=False)


def encode(value: str) -> str:
    """Percent-encode every byte of ``value``; lone surrogates become invalid
    UTF-8 on the wire."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def segment_values() -> st.SearchStrategy[str]:
    """A path segment as sent: plausible, hostile or raw ``..``."""
    return weighted(
        (3, url_text(40).map(encode)),
        (1, st.sampled_from(["..", "%2e%2e", "%2F", "a%2Fb", "%00", "%ff", ".", "%", "%zz"])),
    )


# --- plausible values from the OpenAPI schemas -----------------------------------------------


def from_schema(schema: dict[str, Any], document: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows (kept small), for plausible bodies."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_schema(document["components"]["schemas"][name], document)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        if schema.get("format") == "uri":
            return st.sampled_from(SAFE_URLS)
        return st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x2FF),
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 40), 40),
        )
    if kind == "integer":
        return st.integers(schema.get("minimum", -5), schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        least = schema.get("minItems", 0)
        return st.lists(
            from_schema(schema.get("items", {}), document),
            min_size=least,
            max_size=max(least, min(schema.get("maxItems", 4), 4)),
        )
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v, document) for k, v in properties.items() if k in required},
            optional={
                k: from_schema(v, document) for k, v in properties.items() if k not in required
            },
        )
    return json_values(4)


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """``value`` (a plausible body) with one field dropped, replaced by any
    JSON value, or an unknown field added; nested objects too."""
    if not isinstance(value, dict) or not value:
        return json_values()
    keys = sorted(value)

    def change(key: str, how: str, junk: Any, nested: Any) -> Any:
        rest = {k: v for k, v in value.items() if k != key}
        if how == "drop":
            return rest
        if how == "extra":
            return {**value, f"x_{key}": junk}
        return {**rest, key: nested if how == "nested" else junk}

    return st.sampled_from(keys).flatmap(
        lambda key: st.builds(
            change,
            st.just(key),
            st.sampled_from(["drop", "junk", "extra", "nested"]),
            json_values(6),
            mutated(value[key]) if isinstance(value[key], dict) else json_values(3),
        )
    )


# --- one request -----------------------------------------------------------------------------


class Api:
    """The routes of the server's OpenAPI document, and ids that exist."""

    def __init__(self, fuzz: Fuzz) -> None:
        self.fuzz = fuzz
        self.document: dict[str, Any] = {}
        self.operations: list[tuple[str, str, dict[str, Any]]] = []
        self.known: dict[str, list[str]] = {}

    async def load(self) -> None:
        async with self.fuzz.http.get(f"{self.fuzz.url}/api/v1/openapi.json") as response:
            self.document = await response.json()
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self.operations.append((method.upper(), path, operation))
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        meeting = await self._post("/api/v1/meetings", {}, admin)
        webhook = await self._post("/api/v1/admin/webhooks", {"url": SAFE_URLS[0]}, admin)
        key = await self._post("/api/v1/admin/keys", {"name": "fuzz", "scope": "admin"}, admin)
        self.known = {
            "meeting_id": [meeting.get("meeting_id", "0" * 32)],
            "room": [meeting.get("room", "standup")],
            "webhook_id": [webhook.get("id", "wh_0")],
            "key_id": [key.get("id", "k_0")],
            "recording_id": ["Zr2vH0aaaaaaaaaaaaaaaa"],
            "name": ["composite.mp4", "recording.json", "track-001-camera.webm"],
        }

    async def _post(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        async with self.fuzz.http.post(self.fuzz.url + path, json=body, headers=headers) as r:
            answer = await r.json(content_type=None)
            return answer if isinstance(answer, dict) else {}

    def parameter_value(self, parameter: dict[str, Any]) -> st.SearchStrategy[str]:
        known = self.known.get(parameter["name"], [])
        plausible = from_schema(parameter.get("schema", {}), self.document).map(str)
        return weighted(
            (3, st.sampled_from(known) if known else plausible),
            (2, plausible),
            (1, url_text(30)),
            (1, nasty_ints().map(str)),
        )


@st.composite
def api_requests(draw: st.DrawFn, api: Api) -> dict[str, Any]:
    """One request to a route of the OpenAPI document."""
    method, template, operation = draw(st.sampled_from(api.operations))
    parameters = operation.get("parameters", [])
    path = template
    for parameter in (p for p in parameters if p["in"] == "path"):
        value = draw(
            weighted((4, api.parameter_value(parameter).map(encode)), (1, segment_values()))
        )
        path = path.replace("{" + parameter["name"] + "}", value)
    query = {p["name"]: draw(api.parameter_value(p)) for p in parameters if p["in"] == "query"}
    query = {k: v for k, v in query.items() if draw(st.booleans())}
    if draw(st.integers(0, 4)) == 0:
        query[draw(url_text(10))] = draw(url_text(30))
    query_string = "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items())
    content = operation.get("requestBody", {}).get("content", {})
    body = draw(bodies(content.get("application/json", {}).get("schema"), api.document))
    headers = {}
    authorization = draw(authorizations())
    if authorization is not None:
        headers["Authorization"] = authorization
    if body is not None:
        headers["Content-Type"] = draw(
            weighted((4, st.just("application/json")), (1, st.sampled_from(CONTENT_TYPES)))
        )
    headers.update(draw(extra_headers()))
    return {
        "method": draw(weighted((9, st.just(method)), (1, st.sampled_from(METHODS)))),
        "route": f"{method} {template}",
        "path": path + (f"?{query_string}" if query_string else ""),
        "headers": headers,
        "body": body,
    }


def anonymous_post(body: bytes) -> dict[str, Any]:
    """``POST /api/v1/meetings`` without a key (what the landing page sends)."""
    return {
        "method": "POST",
        "route": "POST /api/v1/meetings",
        "path": "/api/v1/meetings",
        "headers": {"Content-Type": "application/json"},
        "body": body,
    }


def bodies(schema: dict[str, Any] | None, document: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The bytes of a request body (None: no body)."""
    hostile = weighted(
        (3, json_values().map(lambda v: json.dumps(v).encode())),
        (2, st.binary(max_size=200)),
        (1, nasty_text(200).map(lambda t: json.dumps({"title": t}).encode())),
        (
            1,
            st.sampled_from([b"", b"{", b"null", b"NaN", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00"]),
        ),
        (1, st.sampled_from([5, 5_000, 100_000]).map(lambda n: deep_json(n).encode())),
        (
            0.3,
            st.sampled_from([70 * 1024, 1024 * 1024 + 1]).map(
                lambda n: b'{"a":"' + b"x" * n + b'"}'
            ),
        ),
    )
    if schema is None:
        return weighted((4, st.none()), (1, hostile))
    plausible = from_schema(schema, document)
    return weighted(
        (4, plausible.map(lambda v: json.dumps(v).encode())),
        (3, plausible.flatmap(mutated).map(lambda v: json.dumps(v).encode())),
        (3, hostile),
    )


def extra_headers() -> st.SearchStrategy[dict[str, str]]:
    latin = header_text(40)
    return st.dictionaries(
        st.sampled_from(
            ["X-Forwarded-For", "Range", "If-None-Match", "If-Modified-Since", "Origin", "Accept"]
        ),
        weighted(
            (2, st.sampled_from(["bytes=0-1", "bytes=-1", "bytes=5-1,0-", "*", "1.2.3.4, ::1"])),
            (1, latin),
        ),
        max_size=2,
    )


async def send(fuzz: Fuzz, request: dict[str, Any]) -> tuple[int, str, bytes]:
    """Status, content type and body of one request (the path is sent as is)."""
    url = URL(fuzz.url + request["path"], encoded=True)
    async with fuzz.http.request(
        request["method"],
        url,
        headers=request["headers"],
        data=request["body"],
        skip_auto_headers=["Content-Type"],
    ) as response:
        return response.status, response.content_type, await response.read()


def check_answer(fuzz: Fuzz, request: dict[str, Any], answer: tuple[int, str, bytes]) -> None:
    status, content_type, body = answer
    what = (
        f"{request['method']} {request['path']:.300} {request['headers']} {request['body']!r:.300}"
    )
    route = request.get("route", "a page")
    code: str | None = None
    if request["path"].startswith("/api/v1/") and status >= 400 and request["method"] != "HEAD":
        code = error_code(body if content_type == "application/json" else b"")
        if code is None:
            fuzz.violation(
                f"{status} without the JSON error body", f"{what} -> {content_type} {body[:300]!r}"
            )
        elif not documented(status, code):
            fuzz.violation(f"undocumented answer {status} {code}", f"{what} -> {body[:300]!r}")
    fuzz.answers[f"{status} {code or ''}".strip()] += 1
    if status >= 500 and not (code and documented(status, code)):
        fuzz.violation(f"{status} {code or ''} on {route}", f"{what} -> {body[:600]!r}")


def error_code(body: bytes) -> str | None:
    """The code of ``{"error": {"code": str, "message": str}}``, else None."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    ok = isinstance(error, dict) and isinstance(error.get("message"), str)
    return error["code"] if ok and isinstance(error.get("code"), str) else None


def documented(status: int, code: str) -> bool:
    if code in ("internal_error", "http_error") and status >= 500:
        return False
    documented = rest_errors()
    return (str(status), code) in documented or (
        400 <= status < 500 and ("4xx", code) in documented
    )


def test_every_api_request_gets_a_documented_answer_and_never_breaks_the_server(
    fuzz: Fuzz,
) -> None:
    api = Api(fuzz)
    fuzz.run(api.load())

    @fuzzing(5)
    # Inputs that broke the server before, tried first in every run.
    @example(anonymous_post(b'{"title": "\xff"}'))  # invalid UTF-8: 500
    @example(anonymous_post(deep_json(5_000).encode()))  # RecursionError: 500
    @example(anonymous_post(b'{"title": "\\ud800"}'))  # a lone surrogate
    @example(anonymous_post(b'{"title": 1' + b"1" * 5000 + b"}"))  # int over 4,300 digits
    @given(api_requests(api))
    def one_request(request: dict[str, Any]) -> None:
        fuzz.cases += 1
        try:
            answer = fuzz.run(send(fuzz, request), timeout=60)
        except (aiohttp.ClientError, TimeoutError) as exc:
            fuzz.unanswered(f"no answer ({type(exc).__name__})", f"{request!r:.600}")
        else:
            check_answer(fuzz, request, answer)
        fuzz.check_server(f"{request['method']} {request['path']:.200}")

    try:
        one_request()
    finally:
        fuzz.finish()


# --- pages and static files ------------------------------------------------------------------


def page_paths() -> st.SearchStrategy[str]:
    return weighted(
        (2, st.sampled_from(["/", "/admin", "/r/standup", "/healthz", "/readyz", "/metrics"])),
        (2, segment_values().map(lambda s: f"/r/{s}")),
        (
            3,
            st.lists(segment_values(), min_size=1, max_size=4).map(
                lambda s: "/static/" + "/".join(s)
            ),
        ),
        (
            2,
            st.sampled_from(
                [
                    "/static/../conf_server/settings.py",
                    "/static/%2e%2e/conf_server/settings.py",
                    "/static/..%2fconf_server%2fsettings.py",
                    "/static/js/../../pyproject.toml",
                    "/static/node_modules/socket.io-client/package.json",
                    "/static//etc/passwd",
                    "/static/js/",
                    "/static/",
                    "/vendor/socket.io.esm.min.js",
                    "/vendor/../pyproject.toml",
                    "/assets/manifest.json",
                    "/assets/../pyproject.toml",
                    "/assets/%2e%2e/manifest.json",
                    "/assets/js/%2e%2e/%2e%2e/build.mjs",
                    "/assets/js/",
                    "/assets/",
                ]
            ),
        ),
        (
            1,
            st.lists(segment_values(), min_size=1, max_size=3).map(
                lambda s: "/assets/" + "/".join(s)
            ),
        ),
        (1, st.lists(segment_values(), max_size=4).map(lambda s: "/" + "/".join(s))),
    )


def test_pages_and_static_files_never_fail_nor_leak_files(fuzz: Fuzz) -> None:
    @fuzzing(2)
    @given(
        st.sampled_from(["GET", "GET", "HEAD", "POST"]),
        page_paths(),
        st.dictionaries(url_text(8), url_text(30), max_size=2),
        extra_headers(),
    )
    def one_page(method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> None:
        fuzz.cases += 1
        query_string = "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items())
        request = {
            "method": method,
            "path": path + (f"?{query_string}" if query_string else ""),
            "headers": headers,
            "body": None,
        }
        try:
            status, _content_type, body = fuzz.run(send(fuzz, request), timeout=60)
        except (aiohttp.ClientError, TimeoutError) as exc:
            fuzz.unanswered(f"no answer ({type(exc).__name__})", f"{request!r:.600}")
        else:
            fuzz.answers[str(status)] += 1
            what = f"{method} {request['path']:.300} {headers}"
            if status >= 500 and not path.startswith("/vendor/"):
                fuzz.violation(f"{status} on a page", f"{what} -> {body[:300]!r}")
            if path.startswith("/static/") and status == 200 and method == "GET":
                check_static_file(fuzz, path, body, what)
            if path.startswith("/assets/") and status == 200 and method == "GET":
                check_bundle_file(fuzz, path, body, what)
        fuzz.check_server(f"{method} {path:.200}")

    try:
        one_page()
    finally:
        fuzz.finish()


def check_static_file(fuzz: Fuzz, path: str, body: bytes, what: str) -> None:
    """A file served under /static/ is a file of web_client/, byte for byte."""
    relative = unquote_to_bytes(path.removeprefix("/static/")).decode("utf-8", "replace")
    candidate = (WEB_CLIENT / relative).resolve()
    inside = candidate.is_relative_to(WEB_CLIENT.resolve()) and candidate.is_file()
    if not inside or candidate.read_bytes() != body:
        fuzz.violation("/static/ served something that is not a web_client file", what)


def check_bundle_file(fuzz: Fuzz, path: str, body: bytes, what: str) -> None:
    """A file served under /assets/ is a file of the bundle's manifest, byte for byte."""
    relative = unquote_to_bytes(path.removeprefix("/assets/")).decode("utf-8", "replace")
    dist = WEB_CLIENT / "dist"
    listed = json.loads((dist / "manifest.json").read_text())["files"]
    if relative not in listed or (dist / relative).read_bytes() != body:
        fuzz.violation("/assets/ served something that is not a file of the bundle", what)


# --- raw HTTP --------------------------------------------------------------------------------


def raw_requests() -> st.SearchStrategy[bytes]:
    """HTTP/1.1 requests with hostile request lines, headers and bodies:
    invalid UTF-8, conflicting lengths, bad chunking, huge numbers."""
    target = weighted(
        (
            2,
            st.sampled_from(
                [b"/api/v1/meetings", b"/healthz", b"/r/x", b"/socket.io/?EIO=4&transport=polling"]
            ),
        ),
        (2, st.binary(min_size=1, max_size=60).map(lambda b: b"/" + b)),
        (
            1,
            st.sampled_from(
                [
                    b"*",
                    b"http://127.0.0.1/healthz",
                    b"//",
                    b"/%",
                    b"/api/v1/%ff",
                    b"/" + b"a" * 9000,
                ]
            ),
        ),
    )
    header_lines = st.lists(
        weighted(
            (
                3,
                st.sampled_from(
                    [
                        b"Content-Length: 5",
                        b"Content-Length: -1",
                        b"Content-Length: 99999999999999999999",
                        b"Content-Length: 1, 2",
                        b"Transfer-Encoding: chunked",
                        b"Transfer-Encoding: gzip, chunked",
                        b"Content-Type: application/json",
                        b"Authorization: Bearer " + ADMIN_KEY.encode(),
                        b"Connection: upgrade",
                        b"Upgrade: websocket",
                        b"Expect: 100-continue",
                        b"Host:",
                        b" folded: value",
                        b"X-Forwarded-For: \xff\xfe",
                    ]
                ),
            ),
            (1, st.binary(max_size=60).filter(lambda b: b"\r\n" not in b)),
        ),
        max_size=6,
    )
    return st.builds(
        lambda method, path, version, headers, body: (
            method
            + b" "
            + path
            + b" "
            + version
            + b"\r\nHost: 127.0.0.1\r\n"
            + b"".join(h + b"\r\n" for h in headers)
            + b"\r\n"
            + body
        ),
        weighted((3, st.sampled_from([b"GET", b"POST", b"DELETE"])), (1, st.binary(max_size=10))),
        target,
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 x", b""]),
        header_lines,
        weighted(
            (2, st.sampled_from([b"", b"{}", b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"{" * 100])),
            (1, st.binary(max_size=200)),
        ),
    )


async def send_raw(fuzz: Fuzz, request: bytes) -> bytes:
    """What the server answers to ``request`` before it closes (we half-close
    after sending, so it never waits for more)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", URL(fuzz.url).port)
    try:
        writer.write(request)
        with contextlib.suppress(OSError):
            writer.write_eof()
            await writer.drain()
        with contextlib.suppress(OSError, TimeoutError):
            return await asyncio.wait_for(reader.read(64 * 1024), 10)
        return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def test_raw_http_requests_never_break_the_server(fuzz: Fuzz) -> None:
    @fuzzing(2)
    @given(raw_requests())
    def one_raw(request: bytes) -> None:
        fuzz.cases += 1
        answer = fuzz.run(send_raw(fuzz, request), timeout=60)
        status = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
        fuzz.answers[status[1].decode() if status else "closed"] += 1
        if status and int(status[1]) >= 500:
            fuzz.violation(
                f"raw request answered {status[1].decode()}",
                f"{request!r:.600} -> {answer[:300]!r}",
            )
        fuzz.check_server(f"raw request {request!r:.300}")

    try:
        one_raw()
    finally:
        fuzz.finish()
