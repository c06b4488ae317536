"""Settings the SFU needs, handed down by the composition root."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SfuSettings:
    """Media-plane knobs; see docs/configuration.md for the user-facing names."""

    ice_servers: tuple[str, ...] = ()
    ice_addresses: tuple[str, ...] = ()
    #: REMB value sent to publishers for each video stream (bit/s).
    max_video_bitrate: int = 1_500_000
    #: Keyframe requests (PLI) to one producer are sent at most this often.
    keyframe_interval_s: float = 0.5
    #: A consumer still waiting for a keyframe asks again after this long.
    keyframe_retry_s: float = 1.0
    #: Packets kept per video producer to answer NACKs (a power of two).
    packet_cache_size: int = 512
    #: How long the SFU waits for a subscriber's SDP answer.
    negotiation_timeout_s: float = 15.0
    #: Active-speaker decision period and loudness threshold (0..127, 127 = loudest).
    speaker_interval_s: float = 0.3
    speaker_threshold: int = 40
