"""Admin REST routes for webhook endpoints (admin keys only).

``POST /api/v1/admin/webhooks`` registers a URL and answers its signing secret
(the only time it is shown); ``GET`` lists endpoints, ``DELETE .../{id}`` stops
deliveries, ``GET .../{id}/deliveries`` is the delivery log and
``POST .../{id}/test`` queues a ``webhook.test`` event. The work is done by
:class:`~conf_server.integration.webhooks.WebhookDispatcher` (``app[WEBHOOKS]``), which
also refuses URLs of loopback, link-local, private or metadata addresses
(``400 webhook_address_not_allowed``; conf_server/integration/webhook_addresses.py).
"""

from __future__ import annotations

from aiohttp import web

from conf_server.integration.webhooks import TEST_EVENT, InvalidWebhook

from .admin_collections import delete_handler, list_handler
from .api_auth import caller
from .keys import WEBHOOKS
from .request_body import read_json_object, reject_unknown_fields

MAX_LOG_LIMIT = 500
DELIVERY_STATES = ("pending", "delivered", "failed")


async def post_webhook(request: web.Request) -> web.Response:
    caller(request, "admin")
    body = await read_json_object(request)
    reject_unknown_fields(body, {"url", "events"})
    if "url" not in body:
        raise InvalidWebhook("field 'url' is required")
    created = request.config_dict[WEBHOOKS].add_endpoint(body["url"], body.get("events"))
    return web.json_response(created, status=201)


list_webhooks = list_handler("webhooks", lambda request: request.config_dict[WEBHOOKS].endpoints())
delete_webhook = delete_handler(
    "webhook_id",
    lambda request, webhook_id: request.config_dict[WEBHOOKS].delete_endpoint(webhook_id),
)


async def get_deliveries(request: web.Request) -> web.Response:
    caller(request, "admin")
    raw = request.query.get("limit", "50")
    # isascii first: "²" is a digit to isdigit() but not to int().
    usable = raw.isascii() and raw.isdigit() and len(raw) <= 6
    if not usable or not 1 <= int(raw) <= MAX_LOG_LIMIT:
        raise InvalidWebhook(
            f"query parameter 'limit' must be an integer from 1 to {MAX_LOG_LIMIT}"
        )
    status = request.query.get("status")
    if status is not None and status not in DELIVERY_STATES:
        raise InvalidWebhook(
            f"query parameter 'status' must be one of {', '.join(DELIVERY_STATES)}"
        )
    endpoint_id = request.match_info["webhook_id"]
    log = request.config_dict[WEBHOOKS].deliveries(endpoint_id, int(raw), status)
    return web.json_response({"webhook_id": endpoint_id, "deliveries": log})


async def post_test(request: web.Request) -> web.Response:
    caller(request, "admin")
    event_id = request.config_dict[WEBHOOKS].send_test(request.match_info["webhook_id"])
    return web.json_response({"event_id": event_id, "type": TEST_EVENT}, status=202)


def add_routes(api: web.Application) -> None:
    api.router.add_post("/admin/webhooks", post_webhook)
    api.router.add_get("/admin/webhooks", list_webhooks)
    api.router.add_delete("/admin/webhooks/{webhook_id}", delete_webhook)
    api.router.add_get("/admin/webhooks/{webhook_id}/deliveries", get_deliveries)
    api.router.add_post("/admin/webhooks/{webhook_id}/test", post_test)
