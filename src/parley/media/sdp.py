"""What the server reads in an SDP offer: its media sections (kind, port, mid), nothing more.

The server never rewrites a device's SDP; it only checks what a device offers to publish (an
interpreter offers audio only) and learns the mids it needs to moderate a stream at Janus. A
section with port 0 is rejected or disabled and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaSection:
    kind: str  # "audio", "video", "application", ...
    port: int
    mid: str | None

    @property
    def active(self) -> bool:
        return self.port != 0


def media_sections(sdp: str) -> list[MediaSection]:
    """The `m=` sections of an SDP in order, each with its `a=mid` (if any)."""
    sections: list[MediaSection] = []
    kind, port, mid = "", 0, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            if kind:
                sections.append(MediaSection(kind, port, mid))
            fields = line[2:].split()
            kind = fields[0] if fields else "?"
            port = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else -1
            mid = None
        elif line.startswith("a=mid:") and kind:
            mid = line[len("a=mid:") :].strip()
    if kind:
        sections.append(MediaSection(kind, port, mid))
    return sections
