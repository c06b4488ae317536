"""The deployment: the meeting store (memory or Redis), the cluster directory
(which node hosts which room, the node registry, rosters) and this node's
agent in it (placement, heartbeat, takeover).

May import: ``conf_server.domain`` and the base modules (``conf_server.errors``,
``conf_server.settings``). Never the meeting, the integration, the HTTP
surface or the composition root: the meeting hands the node agent what it
needs through the ``HostedRooms`` protocol.
"""
