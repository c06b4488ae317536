"""A safe answer to an ``Expect`` header aiohttp does not know.

aiohttp answers ``Expect`` values other than ``100-continue`` with 417 and
the value in the body. A value of bytes that are no UTF-8 reaches it as lone
surrogates (aiohttp decodes headers with ``surrogateescape``), which that body
cannot encode: every route, and every unknown path, answered 500 and logged a
traceback, for one header line anybody can send. aiohttp calls the expect
handler before any middleware, and every route takes the module's default when
it is made, so :func:`install` replaces that default before any route exists
(``conf_server.http.api`` calls it when imported, which the composition root
does before it builds the application).
"""

from __future__ import annotations

from aiohttp import web, web_urldispatcher

#: aiohttp's own handler (100 Continue, or 417 naming the value).
_AIOHTTP_DEFAULT = web_urldispatcher._default_expect_handler


async def expect_handler(request: web.Request) -> None:
    """aiohttp's handling, with a 417 that does not name a value it cannot encode."""
    try:
        await _AIOHTTP_DEFAULT(request)
    except UnicodeEncodeError:
        raise web.HTTPExpectationFailed(text="Unknown Expect header") from None


def install() -> None:
    """Make :func:`expect_handler` the default of every route made from now on
    (aiohttp's routes, and the routes it makes for unknown paths, take it then)."""
    web_urldispatcher._default_expect_handler = expect_handler
