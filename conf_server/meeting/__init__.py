"""The meeting on this node: who is in which room, what they may do, and their media.

``MeetingService`` (the facade signaling talks to) composes membership,
lobby waiting, departures, media negotiation, broadcasting and the meeting's
records; the meeting actions (host controls, interaction, recording control),
room moves between nodes, live reports and meeting creation work against the
narrow contexts in :mod:`~conf_server.meeting.meeting_context` and
:mod:`~conf_server.meeting.service_context`, never against ``MeetingService``.

May import: ``conf_server.domain``, ``conf_server.cluster``,
``conf_server.integration`` and the base modules (``conf_server.errors``,
``conf_server.settings``); and the lower top-level packages ``signaling``,
``sfu``, ``recording``. Never ``conf_server.http`` or the composition root.
"""
