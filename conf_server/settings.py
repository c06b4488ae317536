"""Configuration: one frozen settings object built from defaults, a TOML file,
the environment (``CONF_<NAME>``) and command-line flags, in that order of
precedence (later wins). It is passed down explicitly; nothing reads it from a
module-level global."""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from recording.errors import TranscriptError
from recording.speech_engines import ENGINE_NAMES, EngineChoice, check_language, engine_problem

from .connectivity_settings import check_connectivity
from .errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """Every knob of one server process. See docs/configuration.md."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./data")
    redis_url: str | None = None
    #: Prefix of every Redis key and of the Socket.IO channel (several
    #: deployments may share one Redis server under different prefixes).
    redis_prefix: str = "conf:"
    public_url: str | None = None
    admin_api_key: str | None = None
    #: Integration keys listed in the configuration (besides those made through
    #: the admin API), e.g. the chat app's; at least 20 characters each.
    integration_api_keys: tuple[str, ...] = ()
    #: Secret that signs invite tokens (at least 32 characters). Unset: one is
    #: made at first start and kept in the database under the data dir.
    invite_secret: str | None = None
    #: STUN/TURN URLs handed to browsers. Empty by default: on a LAN or in tests
    #: nothing outside is needed. The server's own ICE agent uses the stun: ones
    #: (a server with a reachable address gains nothing from relaying itself).
    #: A turn:/turns: URL needs turn_secret or turn_username + turn_password.
    ice_servers: tuple[str, ...] = ()
    #: The secret shared with coturn (``use-auth-secret`` /
    #: ``static-auth-secret``, the TURN REST API convention): each participant
    #: gets its own credentials for the turn: URLs, valid for
    #: turn_credential_seconds. Never sent to clients.
    turn_secret: str | None = None
    #: How long the TURN credentials of a join are valid (a reconnect gets new ones).
    turn_credential_seconds: float = 86_400.0
    #: Fixed TURN credentials for every participant, for a TURN server without
    #: the shared-secret scheme (turn_secret is preferred: these never expire).
    turn_username: str | None = None
    turn_password: str | None = None
    #: The address the server's host candidates advertise instead of the one it
    #: binds: its public address behind 1:1 NAT or in a container.
    announced_address: str | None = None
    #: "LOW-HIGH": the UDP ports the server's media sockets use (each peer
    #: connection takes one per ICE address); unset: ephemeral ports.
    rtc_ports: str | None = None
    #: Addresses the server's ICE agent gathers host candidates on. Empty means
    #: every non-loopback interface (aioice's default). Naming 127.0.0.1 here is
    #: the only way to make the server offer a loopback candidate.
    ice_addresses: tuple[str, ...] = ()
    #: The ceiling (bit/s) for each published video track, all its simulcast
    #: layers together; the SFU sends the sum as REMB once a second. Below it
    #: the browser's own estimate decides.
    max_video_bitrate: int = 2_000_000
    #: Ask browsers to publish their camera in several sizes (simulcast), so the
    #: SFU can send each subscriber the size its tile and its connection take.
    simulcast: bool = True
    #: Tell simulcast publishers to stop encoding the camera layers no
    #: subscriber (nor the recorder) takes, and to resume them when one does.
    dynacast: bool = True
    #: Each participant receives the audio of at most this many current
    #: speakers (the loudest, with a hangover; Opus DTX keeps the silent
    #: ones nearly free). 0: everyone's audio, always.
    audio_forward_speakers: int = 3
    #: Free receiving m-sections of each kind every subscriber offer carries:
    #: a newcomer's tracks start on them at once, without a new offer and
    #: answer. 0: every new track waits for the next negotiation.
    spare_slots: int = 1
    #: How long a participant whose connection dropped keeps its place.
    reconnect_grace_seconds: float = 20.0
    max_participants_per_room: int = 100
    #: How long a meeting's state (chat, polls, hands) outlives the moment its
    #: room became empty or the meeting was ended.
    empty_meeting_ttl_seconds: float = 600.0
    #: Meetings a client address may create per hour without an API key
    #: (``POST /api/v1/meetings``, the landing page's "Start a meeting"; a burst
    #: of up to 10). 0: only API keys may create meetings ahead of time.
    anonymous_meetings_per_hour: int = 60
    #: How long a meeting created without a key waits for its first participant.
    anonymous_meeting_ttl_seconds: float = 3600.0
    #: Creating a meeting without a key is refused (503 ``too_many_meetings``)
    #: while the store holds this many meetings: the memory anonymous callers
    #: can take is bounded (keyed callers and joins are not refused).
    max_meetings: int = 10_000
    log_level: str = "info"
    #: The asyncio event loop the node runs on: "asyncio" (the standard
    #: library's selector loop) or "uvloop" (libuv: a received media packet
    #: costs about 30 % less CPU; out of file descriptors it drops the
    #: connections it cannot take without a log line: docs/performance.md,
    #: docs/operations.md).
    event_loop: str = "asyncio"
    #: Log each join's steps with wall-clock times, and the event loop's
    #: stalls (logger ``conf.timeline``, sfu/timeline.py): for finding where
    #: a join's time goes (scripts/bench_join.py). Off in production.
    join_timeline: bool = False
    #: Who may record: "disabled" (nobody), "hosts" (hosts and co-hosts start
    #: and stop it) or "automatic" (every meeting records from its first join).
    recording_policy: str = "hosts"
    #: May a meeting's hosts download its recordings (through signed links)?
    #: Admins always may, with an admin API key.
    recording_host_download: bool = False
    #: Bytes the recordings directory may hold; a start is refused when full.
    recording_quota_bytes: int | None = None
    #: Finished recordings older than this many days are deleted (None: kept).
    recording_retention_days: float | None = None
    #: The meeting.summary webhook waits for the meeting's recordings (and
    #: transcripts) to finish processing, at most this many seconds after the
    #: meeting ended; then it is sent saying which ones are still processing.
    summary_wait_max_seconds: float = 7200.0
    #: Transcribe recordings after they stop (a meeting may turn it off).
    transcript_enabled: bool = True
    #: The speech recognizer: "pocketsphinx" (embedded, US English),
    #: "whispercpp" or "vosk" (packages and models of the operator's).
    transcript_engine: str = "pocketsphinx"
    #: The model file (whispercpp) or directory (vosk); unset for pocketsphinx.
    transcript_model: Path | None = None
    #: Meetings' language unless one sets its own (the language a Vosk model speaks).
    transcript_language: str = "en-US"
    #: Transcripts made at once on this node (each takes one core while it runs).
    transcript_workers: int = 1
    #: May hosts turn on live captions (the transcript engine, during the meeting)?
    captions_enabled: bool = True
    #: Speakers captioned at once in one room (each takes part of a core).
    captions_max_speakers: int = 2
    #: Rooms of this node captioned at once (one caption process each).
    captions_max_rooms: int = 4
    #: Networks (CIDR) webhooks may reach besides public addresses; loopback,
    #: link-local (metadata), private and other non-public addresses are
    #: refused unless listed here (docs/security.md).
    webhook_allowed_networks: tuple[str, ...] = ()
    #: Name of this node in multi-node deployments (GET /api/v1/rooms/{room}).
    node_name: str = field(default_factory=socket.gethostname)
    #: Base URL clients use to reach this node directly (multi-node: where
    #: ``wrong_node`` sends them). Unset: public_url, else http://host:port.
    node_url: str | None = None
    #: A second port this node listens on for its own clients (``--workers``
    #: gives each worker one, next to the shared port).
    node_port: int | None = None
    #: Where other nodes reach this node's media relay (issue 17: one room
    #: across nodes): an address of this machine on the deployment's private
    #: network. Unset: no relay. ``relay_port`` 0 takes a free port (each
    #: worker its own); the address is announced in the heartbeat.
    relay_host: str | None = None
    relay_port: int = 0
    #: A room spreads over nodes (needs relays): a newcomer goes to the
    #: least-loaded node already hosting the room that has fewer than this
    #: many participants (in all its rooms), else to another node. 0: rooms
    #: never span nodes.
    room_span_load: int = 20
    #: Processes to start on this machine (``--workers``); needs redis_url when
    #: more than one. Unset: one per core with Redis, else one.
    workers: int | None = None
    #: How often this node tells the deployment it is alive, and how long
    #: silence means it is dead (its rooms are then taken over).
    heartbeat_seconds: float = 1.0
    node_ttl_seconds: float = 5.0
    #: On SIGTERM: how long meetings may go on before they move to other nodes.
    drain_seconds: float = 30.0
    #: Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For
    #: header names the real client; others' headers are ignored. Per-client
    #: limits use that address (docs/security.md).
    trusted_proxies: tuple[str, ...] = ()
    #: Multiplies every Socket.IO rate limit (burst and rate; the table is in
    #: docs/protocol.md, *Rate limits*): 2 doubles every budget. For load tests
    #: and unusual crowds behind one address.
    rate_limit_scale: float = 1.0
    #: Socket.IO connections this process holds at most (also fewer while its
    #: file descriptors run short); beyond, new ones get 503 ``server_full``.
    max_connections: int = 10_000
    #: Socket.IO connections one client address holds at most (an IPv6 address
    #: counts as its /64); beyond, 429 ``too_many_connections``. Behind a
    #: reverse proxy, set trusted_proxies, or every client is the proxy.
    max_connections_per_address: int = 500
    #: A socket that is in no room and not waiting in a lobby for this long
    #: (connected and never joined, or left) is disconnected.
    unjoined_socket_seconds: float = 20.0

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"


def _field_types() -> dict[str, Any]:
    return get_type_hints(Settings)


def _float_fields() -> list[str]:
    """Settings that hold seconds, days or other real numbers."""
    return [name for name, hint in _field_types().items() if float in _members(hint)]


def _members(hint: Any) -> tuple[Any, ...]:
    """The types a hint admits (``int | None`` -> ``(int, NoneType)``)."""
    args = get_args(hint)
    return args if get_origin(hint) in (Union, UnionType) else (hint,)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value from TOML, environment or flags into the field's type
    (read off the dataclass, so a new setting needs no entry here)."""
    try:
        if value is None:
            return None
        kinds = _members(_field_types()[name])
        if any(get_origin(kind) is tuple for kind in kinds):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if bool in kinds:
            return _boolean(value)
        if int in kinds:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("expected a whole number")
            return int(value)
        if float in kinds:
            return float(value)
        if Path in kinds:
            return Path(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid value for {name!r}: {value!r} ({exc})") from exc


def _known(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    names = {f.name for f in fields(Settings)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in names:
            raise ConfigError(f"unknown setting {key!r} in {source}")
        out[name] = _coerce(name, value)
    return out


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings: defaults < TOML file < ``CONF_*`` environment < overrides (flags)."""
    settings = Settings()
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from exc
        data.pop("integration_keys", None)  # read by the API layer, not a setting
        settings = replace(settings, **_known(data, str(config_file)))
    env = os.environ if environ is None else environ
    from_env = {
        f.name: env[f"CONF_{f.name.upper()}"]
        for f in fields(Settings)
        if f"CONF_{f.name.upper()}" in env
    }
    settings = replace(settings, **_known(from_env, "environment"))
    if overrides:
        settings = replace(
            settings, **_known({k: v for k, v in overrides.items() if v is not None}, "flags")
        )
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    for name in _float_fields():
        value = getattr(settings, name)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port must be between 1 and 65535, got {settings.port}")
    if not 0 <= settings.relay_port < 65536:
        raise ConfigError(f"relay_port must be between 0 and 65535, got {settings.relay_port}")
    if settings.node_port is not None and not 0 < settings.node_port < 65536:
        raise ConfigError(f"node_port must be between 1 and 65535, got {settings.node_port}")
    if settings.room_span_load < 0:
        raise ConfigError("room_span_load must not be negative")
    if settings.workers is not None and settings.workers < 1:
        raise ConfigError("workers must be at least 1")
    if (settings.workers or 1) > 1 and not settings.redis_url:
        raise ConfigError(
            "more than one worker needs redis_url: the workers share their state through Redis"
        )
    if (
        settings.heartbeat_seconds <= 0
        or settings.node_ttl_seconds < 2 * settings.heartbeat_seconds
    ):
        raise ConfigError("node_ttl_seconds must be at least twice heartbeat_seconds (> 0)")
    if settings.drain_seconds < 0:
        raise ConfigError("drain_seconds must not be negative")
    if settings.summary_wait_max_seconds < 0:
        raise ConfigError("summary_wait_max_seconds must not be negative")
    if settings.audio_forward_speakers < 0:
        raise ConfigError("audio_forward_speakers must not be negative (0: forward everyone)")
    if not 0 <= settings.spare_slots <= MAX_SPARE_SLOTS:
        raise ConfigError(f"spare_slots must be between 0 and {MAX_SPARE_SLOTS}")
    if settings.max_video_bitrate < 50_000:
        raise ConfigError("max_video_bitrate must be at least 50000 bit/s")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f"log_level must be debug, info, warning or error: {settings.log_level!r}"
        )
    if settings.event_loop not in EVENT_LOOPS:
        raise ConfigError(f"event_loop must be uvloop or asyncio: {settings.event_loop!r}")
    check_connectivity(
        ice_servers=settings.ice_servers,
        turn_secret=settings.turn_secret,
        turn_username=settings.turn_username,
        turn_password=settings.turn_password,
        turn_credential_seconds=settings.turn_credential_seconds,
        announced_address=settings.announced_address,
        rtc_ports=settings.rtc_ports,
    )
    if any(len(key) < 20 for key in settings.integration_api_keys):
        raise ConfigError("every integration_api_keys entry must have at least 20 characters")
    if settings.invite_secret is not None and len(settings.invite_secret) < 32:
        raise ConfigError("invite_secret must have at least 32 characters")
    if settings.empty_meeting_ttl_seconds < 0:
        raise ConfigError("empty_meeting_ttl_seconds must not be negative")
    if settings.anonymous_meetings_per_hour < 0:
        raise ConfigError("anonymous_meetings_per_hour must not be negative")
    if settings.anonymous_meeting_ttl_seconds <= 0:
        raise ConfigError("anonymous_meeting_ttl_seconds must be positive")
    if settings.max_meetings < 1:
        raise ConfigError("max_meetings must be at least 1")
    if settings.recording_policy not in RECORDING_POLICIES:
        raise ConfigError(
            f"recording_policy must be one of {', '.join(RECORDING_POLICIES)}: "
            f"{settings.recording_policy!r}"
        )
    if settings.recording_quota_bytes is not None and settings.recording_quota_bytes < 0:
        raise ConfigError("recording_quota_bytes must not be negative")
    if settings.recording_retention_days is not None and settings.recording_retention_days <= 0:
        raise ConfigError("recording_retention_days must be positive")
    _check_transcripts(settings)
    for network in settings.webhook_allowed_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"webhook_allowed_networks: {network!r} is not an address or network"
            ) from exc
    if settings.rate_limit_scale <= 0:
        raise ConfigError("rate_limit_scale must be positive")
    if settings.max_connections < 1 or settings.max_connections_per_address < 1:
        raise ConfigError("max_connections and max_connections_per_address must be at least 1")
    if settings.unjoined_socket_seconds <= 0:
        raise ConfigError("unjoined_socket_seconds must be positive")
    for proxy in settings.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {proxy!r} is not an address or network") from exc


def transcript_engine_choice(settings: Settings, language: str | None = None) -> EngineChoice:
    """The configured speech engine for ``language`` (the deployment's by default)."""
    model = None if settings.transcript_model is None else str(settings.transcript_model)
    return EngineChoice(
        settings.transcript_engine,
        language or settings.transcript_language,
        model,
        settings.transcript_language,
    )


def _check_transcripts(settings: Settings) -> None:
    """An unknown engine, a language it does not speak, or (with transcripts
    on) its package or model missing stop the server at start-up."""
    if settings.transcript_engine not in ENGINE_NAMES:
        raise ConfigError(
            f"transcript_engine must be one of {', '.join(ENGINE_NAMES)}: "
            f"{settings.transcript_engine!r}"
        )
    if settings.transcript_workers < 1:
        raise ConfigError("transcript_workers must be at least 1")
    if not 1 <= settings.captions_max_speakers <= 16:
        raise ConfigError("captions_max_speakers must be 1 to 16")
    if settings.captions_max_rooms < 0:
        raise ConfigError("captions_max_rooms must not be negative")
    choice = transcript_engine_choice(settings)
    try:
        check_language(choice)
    except TranscriptError as exc:
        raise ConfigError(f"transcript_language: {exc.message}") from exc
    problem = engine_problem(choice) if settings.transcript_enabled else None
    if problem is not None:
        raise ConfigError(f"{problem} (or set transcript_enabled = false)")


RECORDING_POLICIES = ("disabled", "hosts", "automatic")
EVENT_LOOPS = ("uvloop", "asyncio")
#: More spare m-sections would only make every offer bigger: one of each kind
#: covers a newcomer's camera and microphone.
MAX_SPARE_SLOTS = 4


__all__ = ["Settings", "load_settings"]
