"""The SDP text a layered load publisher sends, and what it reads back from the answer.

aiortc writes one encoding per m-section and knows neither ``a=rid`` nor
``a=simulcast``, so the load client edits aiortc's offer the way a browser
publishing simulcast would write it (RFC 8851, RFC 8853): one ``a=rid:<rid>
send`` line per layer, ``a=simulcast:send q;h;f`` (lowest first), the
rtp-stream-id header extension, and no ``a=ssrc`` lines (the layers' SSRCs are
learnt from their packets). A single-layer offer announces its one SSRC
instead. Both offer transport-wide congestion control, as browsers do.
"""

from __future__ import annotations

from sfu.aiortc_bridge import URI_RID, URI_TRANSPORT_CC
from sfu.sdp_sections import split_sections


def _section(sections: list[list[str]], mid: str) -> list[str]:
    for section in sections:
        if f"a=mid:{mid}" in section:
            return section
    raise LookupError(f"no m-section with mid {mid!r}")


def _extmap_ids(section: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for line in section:
        if line.startswith("a=extmap:"):
            number, uri = line[9:].split(maxsplit=1)
            ids[uri.split()[0]] = int(number.split("/")[0])
    return ids


def layered_offer(sdp: str, mid: str, rids: list[str], ssrc: int | None, cname: str) -> str:
    """aiortc's offer with the video m-section ``mid`` rewritten for layered sending.

    With ``rids`` (two or more) the section offers simulcast in that order;
    otherwise it announces the single stream ``ssrc``. The rid and
    transport-cc header extensions get ids no other extension of the section
    uses.
    """
    session, sections = split_sections(sdp.splitlines())
    section = _section(sections, mid)
    payload_types = section[0].split()[3:]
    kept = [x for x in section if not x.startswith(("a=ssrc:", "a=ssrc-group:"))]
    used = set(_extmap_ids(section).values())
    free = (n for n in range(1, 15) if n not in used)
    added: list[str] = []
    if URI_TRANSPORT_CC not in _extmap_ids(section):
        added.append(f"a=extmap:{next(free)} {URI_TRANSPORT_CC}")
    added += [f"a=rtcp-fb:{pt} transport-cc" for pt in payload_types[:1]]
    if len(rids) > 1:
        added.append(f"a=extmap:{next(free)} {URI_RID}")
        added += [f"a=rid:{rid} send" for rid in rids]
        added.append("a=simulcast:send " + ";".join(rids))
    elif ssrc is not None:
        added.append(f"a=ssrc:{ssrc} cname:{cname}")
    section[:] = kept + added
    lines = session + [line for s in sections for line in s]
    return "\r\n".join(lines) + "\r\n"


def answer_extension_ids(sdp: str, mid: str) -> dict[str, int]:
    """The header-extension ids the answer accepted for ``mid``, by URI."""
    return _extmap_ids(_section(split_sections(sdp.splitlines())[1], mid))


def answer_accepts_simulcast(sdp: str, mid: str, rids: list[str]) -> bool:
    """True if the answer's ``mid`` section has ``a=simulcast:recv`` with all ``rids``."""
    for line in _section(split_sections(sdp.splitlines())[1], mid):
        if line.startswith("a=simulcast:recv "):
            accepted = [r.split(",")[0].lstrip("~") for r in line.split()[1].split(";")]
            return accepted == rids
    return False


def answer_payload_type(sdp: str, mid: str) -> int:
    """The first (chosen) payload type of the answer's ``mid`` section."""
    return int(_section(split_sections(sdp.splitlines())[1], mid)[0].split()[3])
