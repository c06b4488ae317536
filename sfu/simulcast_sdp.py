"""Simulcast in SDP (RFC 8853 ``a=simulcast``, RFC 8851 ``a=rid``), which aiortc does not know.

A browser that publishes simulcast offers, in its video m-section::

    a=rid:q send
    a=rid:h send
    a=rid:f send
    a=simulcast:send q;h;f

The SFU accepts by answering ``a=rid:<rid> recv`` for each and
``a=simulcast:recv q;h;f``. aiortc drops these lines when it parses the offer
and never writes them, so this module reads them from the offer text and adds
them to aiortc's answer text. Layers are taken in the order the offer lists
them, which the client sends lowest first (docs/protocol.md, ``publish``).
"""

from __future__ import annotations

import re

from .sdp_sections import split_sections

#: RFC 8851: rid-id = 1*(alpha-numeric / "-" / "_"); we also bound its length.
_RID = re.compile(r"[A-Za-z0-9_-]{1,16}")
MAX_LAYERS = 4


def _mid(section: list[str]) -> str | None:
    for line in section:
        if line.startswith("a=mid:"):
            return line[6:].strip()
    return None


def offered_layers(offer_sdp: str) -> dict[str, list[str]]:
    """The rids each video m-section offers to send as simulcast, by mid, in
    the offer's order. Sections without (usable) simulcast are left out;
    paused (``~q``) and alternative (``q,h``) forms take the first choice, and
    a rid without its ``a=rid:<rid> send`` line is ignored."""
    result: dict[str, list[str]] = {}
    for section in split_sections(offer_sdp.splitlines())[1]:
        if not section[0].startswith("m=video"):
            continue
        mid = _mid(section)
        send_rids = set()
        order: list[str] = []
        for line in section:
            if line.startswith("a=rid:"):
                parts = line[6:].split()
                if len(parts) >= 2 and parts[1] == "send" and _RID.fullmatch(parts[0]):
                    send_rids.add(parts[0])
            elif line.startswith("a=simulcast:"):
                fields = line[12:].split()
                if len(fields) >= 2 and fields[0] == "send":
                    for stream in fields[1].split(";"):
                        rid = stream.split(",")[0].lstrip("~")
                        if rid not in order:
                            order.append(rid)
        layers = [rid for rid in order if rid in send_rids][:MAX_LAYERS]
        if mid is not None and len(layers) > 1:
            result[mid] = layers
    return result


def accept_layers(answer_sdp: str, layers: dict[str, list[str]]) -> str:
    """``answer_sdp`` with ``a=rid:… recv`` and ``a=simulcast:recv …`` added to
    the m-section of every mid in ``layers``."""
    if not layers:
        return answer_sdp
    newline = "\r\n" if "\r\n" in answer_sdp else "\n"
    out: list[str] = []
    pending: list[str] = []
    for line in answer_sdp.splitlines():
        if line.startswith("m="):
            out.extend(pending)
            pending = []
        out.append(line)
        if line.startswith("a=mid:"):
            rids = layers.get(line[6:].strip())
            if rids:
                pending = [f"a=rid:{rid} recv" for rid in rids]
                pending.append("a=simulcast:recv " + ";".join(rids))
    out.extend(pending)
    return newline.join(out) + newline
