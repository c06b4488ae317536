"""A tiny JSON client for the REST API in tests."""

from __future__ import annotations

from typing import Any

import aiohttp


async def call(
    server: Any, method: str, path: str, key: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    """``(status, JSON body or text)`` of one request to ``server``."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, f"{server.url}/api/v1{path}", **kwargs) as response,
    ):
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()
