"""Types of the compiled send step (sfu/_rtp_send.c); see sfu/native_send.py."""

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
        RuntimeError when libsrtp fails."""
