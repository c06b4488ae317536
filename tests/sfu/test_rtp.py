"""Byte-level RTP parsing and rewriting, checked against aiortc's own parser."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from sfu import rtp


def aiortc_packet(**extensions: object) -> tuple[bytes, HeaderExtensionsMap]:
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=5, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"
                ),
            ]
        )
    )
    packet = RtpPacket(payload_type=111, sequence_number=65535, timestamp=4_000_000_000, ssrc=42)
    packet.marker = 1
    packet.csrc = [7, 8]
    packet.payload = b"\x10\x00payload"
    for key, value in extensions.items():
        setattr(packet.extensions, key, value)
    return packet.serialize(ext_map), ext_map


def test_parse_reads_header_fields_and_finds_payload_after_extensions():
    data, _ = aiortc_packet(mid="3", audio_level=(True, 30))
    view = rtp.parse(data)
    assert (view.payload_type, view.sequence_number, view.timestamp, view.ssrc) == (
        111,
        65535,
        4_000_000_000,
        42,
    )
    assert view.marker and data[view.payload_offset :] == b"\x10\x00payload"
    assert rtp.find_extension(data, 1) == b"3"
    assert rtp.find_extension(data, 5) == bytes([0x80 | 30])
    assert rtp.find_extension(data, 9) is None


def test_rewrite_produces_a_packet_aiortc_parses_with_new_fields():
    data, ext_map = aiortc_packet(mid="3")
    view = rtp.parse(data)
    view.stamp()
    view.audio_level = 12
    ext = rtp.one_byte_extensions([(1, b"7"), (5, bytes([12]))])
    out = rtp.rewrite(
        view, payload_type=96, sequence_number=1, timestamp=99, ssrc=1234, extensions=ext
    )
    parsed = RtpPacket.parse(out, ext_map)
    assert (parsed.payload_type, parsed.sequence_number, parsed.timestamp, parsed.ssrc) == (
        96,
        1,
        99,
        1234,
    )
    assert parsed.marker == 1 and parsed.csrc == []
    assert parsed.extensions.mid == "7"
    assert parsed.payload == b"\x10\x00payload"


@pytest.mark.parametrize("garbage", [b"", b"\x80" * 5, b"\x00" * 20, bytes([0x90]) + b"\x00" * 13])
def test_garbage_is_refused_not_crashed_on(garbage):
    with pytest.raises(ValueError):
        rtp.parse(garbage)


def vp8_packet(descriptor: bytes, first_payload_byte: int) -> bytes:
    header = bytes([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
    return header + descriptor + bytes([first_payload_byte, 0, 0])


@pytest.mark.parametrize(
    ("descriptor", "payload_byte", "keyframe"),
    [
        (b"\x10", 0x00, True),  # S=1, PID=0, P=0
        (b"\x10", 0x01, False),  # inter frame
        (b"\x00", 0x00, False),  # not the start of a frame
        (b"\x90\x80\x85\x01", 0x00, True),  # X, I with 15-bit picture id
        (b"\x90\xe0\x05\x02\x03", 0x00, True),  # X, I (7-bit), L, T
        (b"\x11", 0x00, False),  # partition 1
    ],
)
def test_vp8_keyframe_detection(descriptor, payload_byte, keyframe):
    assert rtp.is_vp8_keyframe_start(vp8_packet(descriptor, payload_byte), 12) is keyframe


@pytest.mark.parametrize(
    ("constant", "variable", "value"),
    [
        ([(1, b"7")], (5, 1), bytes([12])),
        ([(1, b"12")], (3, 3), b"\x01\x02\x03"),
        ([], (3, 3), b"\x01\x02\x03"),
        ([(1, b"7")], None, None),
    ],
)
def test_extension_template_equals_packing_every_element(constant, variable, value):
    template = rtp.ExtensionTemplate(constant, variable)
    elements = constant + ([(variable[0], value)] if variable else [])
    assert template.build(value) == rtp.one_byte_extensions(elements)
