"""Settings the SFU needs, handed down by the composition root."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SimulcastLayer:
    """One spatial layer a browser is asked to send of its camera (lowest first)."""

    rid: str
    scale_down: float
    max_bitrate: int


#: The camera size (width, height) the layers' bitrates are meant for: clients
#: with a smaller camera scale them by their share of its pixels.
SIMULCAST_REFERENCE = (1280, 720)

#: The camera layers a client publishes when simulcast is on: 1/4, 1/2 and full
#: size. Browsers send fewer when the camera is small (Chrome: two at 640x360);
#: the SFU works with whichever are live.
DEFAULT_SIMULCAST_LAYERS = (
    SimulcastLayer("q", 4.0, 150_000),
    SimulcastLayer("h", 2.0, 500_000),
    SimulcastLayer("f", 1.0, 1_200_000),
)


@dataclass(frozen=True)
class SfuSettings:
    """Media-plane knobs; see docs/configuration.md for the user-facing names."""

    ice_servers: tuple[str, ...] = ()
    ice_addresses: tuple[str, ...] = ()
    #: Advertised in host candidates instead of the bound address (1:1 NAT, containers).
    announced_address: str | None = None
    #: ``(low, high)``: the UDP ports media sockets bind; None: ephemeral ports.
    rtc_ports: tuple[int, int] | None = None
    #: The ceiling (bit/s) the SFU allows each publisher's video, sent as REMB.
    #: The browser's own estimator (fed by transport-cc and receiver reports)
    #: decides below it.
    max_video_bitrate: int = 2_000_000
    #: Camera layers clients are asked to publish; empty: one encoding.
    simulcast_layers: tuple[SimulcastLayer, ...] = DEFAULT_SIMULCAST_LAYERS
    #: Ask simulcast publishers to pause the layers nobody takes (:mod:`sfu.dynacast`).
    dynacast: bool = True
    #: Keyframe requests (PLI) to one layer of a producer are sent at most this often.
    keyframe_interval_s: float = 0.5
    #: A consumer still waiting for a keyframe asks again after this long.
    keyframe_retry_s: float = 1.0
    #: Packets kept per video layer to answer NACKs (a power of two).
    packet_cache_size: int = 512
    #: Packets kept per audio stream to answer NACKs (a power of two): 64 Opus
    #: packets are 1.3 s at 20 ms, more than any jitter buffer waits for one.
    audio_packet_cache_size: int = 64
    #: How long the SFU waits for a subscriber's SDP answer.
    negotiation_timeout_s: float = 15.0
    #: Free slots of each kind every subscriber offer carries, so a newcomer's
    #: tracks go out at once, on slots the subscriber has already answered
    #: for, instead of after the next offer and answer (issue 21).
    spare_slots: int = 1
    #: Active-speaker decision period and loudness threshold (0..127, 127 = loudest).
    speaker_interval_s: float = 0.3
    speaker_threshold: int = 40
    #: Each subscriber gets the audio of at most this many current speakers,
    #: the first of the room's ranking it may hear (:mod:`sfu.speaker_selection`);
    #: 0: every participant's audio, always.
    audio_forward_speakers: int = 3
    #: How often receiver reports (and NACK retries, transport-cc feedback) go to publishers.
    feedback_interval_s: float = 0.1
    #: How often each subscriber's layers are chosen again within its estimate.
    allocation_interval_s: float = 0.5
