"""The HTTP surface: the REST API (``/api/v1``) and its OpenAPI document,
request bodies and API-key auth, health, metrics, the web pages, file
downloads, forwarding to a room's node, and the aiohttp ``AppKey``s.

May import: ``conf_server.meeting``, ``conf_server.cluster``,
``conf_server.integration``, ``conf_server.domain`` and the base modules.
Never the composition root (``conf_server.app``, ``conf_server.cli``).
"""
