"""Guards the aiortc internals the bridge relies on: an upgrade that moves one fails here."""

from __future__ import annotations

import importlib.metadata
import inspect

from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport

from sfu import aiortc_bridge


def test_aiortc_is_the_pinned_version():
    assert importlib.metadata.version("aiortc") == "1.16.0"


def test_private_hooks_still_exist_with_the_expected_shape():
    assert list(inspect.signature(RTCDtlsTransport._handle_rtp_data).parameters) == [
        "self",
        "data",
        "arrival_time_ms",
    ]
    assert inspect.iscoroutinefunction(RTCDtlsTransport._send_rtp)
    assert inspect.iscoroutinefunction(RTCRtpSender._retransmit)
    assert "_send_keyframe" in vars(RTCRtpSender)
    init = inspect.getsource(RTCRtpReceiver.__init__)
    assert "self.__decoder_queue" in init
    sender_init = inspect.getsource(RTCRtpSender.__init__)
    for counter in ("__ntp_timestamp", "__rtp_timestamp", "__packet_count", "__octet_count"):
        assert f"self.{counter}" in sender_init
    transceiver_init = inspect.getsource(RTCRtpTransceiver.__init__)
    assert "self._codecs" in transceiver_init and "self._headerExtensions" in transceiver_init
    # The dtls transport calls the hook by this exact keyword.
    assert "self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in inspect.getsource(
        RTCDtlsTransport._recv_next
    )


def test_ice_address_restriction_is_applied_and_reversible():
    import aioice.ice

    aiortc_bridge.restrict_ice_addresses(["127.0.0.1", "::1"])
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    aiortc_bridge.restrict_ice_addresses(["127.0.0.1"])  # what the other tests use
