"""The chat-app integration: invite tokens, API keys and their database,
meeting reports and their archive, signed download links, and webhooks
(queue, signing, delivery, address checks); and coturn's: TURN credentials
from the shared secret.

May import: ``conf_server.domain`` and the base modules (``conf_server.errors``,
``conf_server.settings``). Never the meeting, the cluster, the HTTP surface
or the composition root.
"""
