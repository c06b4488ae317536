"""Types of the compiled send step (sfu/_rtp_send.c); see sfu/native_send.py."""

from typing import Any

class RtpSender:
    """A subscriber's socket, address and SRTP session, ready to send to."""

    def __init__(
        self, sock: object, address: bytes, protect: int, srtp: int, owner: object
    ) -> None: ...
    def send(
        self,
        b0: int,
        b1: int,
        sequence_number: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
        payload: bytes,
        /,
    ) -> int:
        """Send one packet: its length before protection, or 0 when the
        socket's buffer is full (dropped, never queued). Raises OSError for a
        closed socket, ValueError for a packet too long for the SRTP buffer,
        pylibsrtp.Error when libsrtp fails, KeyError (the SSRC) when the
        sender has a session per SSRC and none for this one."""
    def add_session(self, ssrc: int, srtp: int, owner: object, /) -> None:
        """For a sender made with ``srtp`` 0: protect ``ssrc``'s packets with
        the srtp_t at ``srtp`` (kept alive through ``owner``)."""

class SlotBase:
    """The per-packet fields of a send slot (sfu.send_slot.SendSlot): typed
    as sfu.native_send's Python fallback with the same names."""

    def __getattr__(self, name: str) -> Any: ...

class ConsumerBase:
    """The per-packet fields of a consumer (sfu.consumer.Consumer): typed
    as sfu.native_send's Python fallback with the same names."""

    def __getattr__(self, name: str) -> Any: ...

def fan_out(
    consumers: list[Any], view: Any, layer: int, times: list[float] | None = None, /
) -> None:
    """Each consumer's ``send(view, layer)``, in C for the registered type
    (an error of one, e.g. pylibsrtp.Error, stops the rest, as in Python);
    with ``times``, appends the seconds from the start to the end of each send."""

def set_consumer_type(cls: type, /) -> None:
    """The ConsumerBase subclass whose ``send`` fan_out does in C."""
