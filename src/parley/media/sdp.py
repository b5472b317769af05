"""What the server reads in an SDP offer, and the shape of offer it lets through to Janus.

The server never rewrites a device's SDP. It reads an offer's media sections (kind, port, mids)
and its BUNDLE group, and refuses an offer it cannot map onto the summit's policy: a section
without exactly one `a=mid`, two sections with one mid, sections outside the BUNDLE group, a kind
the device may not publish (a data channel, a second audio section), or line breaks and control
characters that another parser (Janus's) could read differently. What the server then enforces at
Janus uses the mids Janus itself reports (`parley.media.plane`), not the ones read here: this
check keeps out what the policy cannot name, it is not what mutes a voice.

A section with port 0 is rejected or disabled and sends nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

# RFC 5888's mid is an RFC 4566 token; the server also bounds its length. Browsers and aiortc
# use "0", "1", ...
_MID = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,32}")
# Characters that could split or end a line differently in another SDP parser.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


class OfferError(ValueError):
    """An offer the server refuses to relay; the message names the rule it breaks."""


@dataclass(frozen=True)
class MediaSection:
    kind: str  # "audio", "video", "application", ...
    port: int
    mids: tuple[str, ...] = ()  # every a=mid of the section; an accepted offer has exactly one

    @property
    def mid(self) -> str | None:
        return self.mids[0] if len(self.mids) == 1 else None

    @property
    def active(self) -> bool:
        return self.port != 0


@dataclass(frozen=True)
class Offer:
    sections: tuple[MediaSection, ...]
    bundles: tuple[tuple[str, ...], ...]  # the mids of each a=group:BUNDLE line


def _attribute(line: str) -> tuple[str, str] | None:
    """`a=name:value` as (lower-case name, value); Janus too reads attribute names case-blind."""
    if not line.startswith("a="):
        return None
    name, _, value = line[2:].partition(":")
    return name.lower(), value.strip()


def parse_offer(sdp: str) -> Offer:
    """The `m=` sections of an SDP in order, each with its `a=mid`s, and its BUNDLE groups."""
    sections: list[MediaSection] = []
    bundles: list[tuple[str, ...]] = []
    kind, port = "", 0
    mids: list[str] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            if kind:
                sections.append(MediaSection(kind, port, tuple(mids)))
            fields = line[2:].split()
            kind = fields[0] if fields else "?"
            port = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else -1
            mids = []
        elif (attribute := _attribute(line)) is not None:
            name, value = attribute
            if name == "mid" and kind:
                mids.append(value)
            elif name == "group" and value.split()[:1] == ["BUNDLE"]:
                bundles.append(tuple(value.split()[1:]))
    if kind:
        sections.append(MediaSection(kind, port, tuple(mids)))
    return Offer(tuple(sections), tuple(bundles))


def check_offer(sdp: str, may_publish: Mapping[str, int]) -> Offer:
    """The offer, if the server can map every section of it; else OfferError naming the rule.

    `may_publish`: how many sections of each kind the device may offer (an interpreter: one
    audio; a delegation's device: one audio and one video).
    """
    if _CONTROL.search(sdp):
        raise OfferError("the offer holds control characters or a line break other than CRLF or LF")
    offer = parse_offer(sdp)
    if not offer.sections:
        raise OfferError("the offer has no media section")
    for section in offer.sections:
        if section.port < 0:
            raise OfferError(f"an m={section.kind} line does not parse")
        if len(section.mids) != 1 or not _MID.fullmatch(section.mids[0]):
            raise OfferError(f"each media section needs exactly one a=mid (a short token): m={section.kind}")
    kinds = Counter(s.kind for s in offer.sections)
    for kind, count in kinds.items():
        if count > may_publish.get(kind, 0):
            allowed = ", ".join(f"{n} {k}" for k, n in may_publish.items())
            raise OfferError(f"this device may offer {allowed} section(s) at most, not {count} {kind}")
    mids = [s.mids[0] for s in offer.sections]
    if len({m.lower() for m in mids}) != len(mids):
        raise OfferError("two media sections share a mid")
    if len(offer.bundles) != 1 or sorted(offer.bundles[0]) != sorted(mids):
        raise OfferError("one a=group:BUNDLE line must list the mid of every media section")
    return offer
