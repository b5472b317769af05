"""The words of the summit's domain that travel on the wire: roles, phases, admission, what
happens at the end, and the shape of a language tag.

They are defined here, at the bottom of the package graph, so that the protocol's models can
name them; the summit domain (parley.summit) takes them from here.
"""

from __future__ import annotations

import enum

# A language tag (BCP 47's common shape): "en", "pt-BR", "zh-Hans", "yue-Hant-HK", "es-419". It
# names a channel in the protocol, the store and the UI, so it is kept short (13 characters at
# most) and plain.
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4}){0,2}$"


class Role(enum.Enum):
    """What a device may do."""

    HOST = "host"  # runs the clock and the phases, admits and removes
    PRINCIPAL = "principal"  # a delegation's head
    DELEGATE = "delegate"
    OBSERVER = "observer"
    PRESS = "press"  # sees and hears the floor during the opening only; never publishes
    INTERPRETER = "interpreter"  # hears the floor (or relays a channel), speaks into one language channel


class Phase(enum.Enum):
    SCHEDULED = "scheduled"
    LOBBY = "lobby"
    OPENING = "opening"
    CLOSED_SESSION = "closed_session"
    ENDED = "ended"


class Admission(enum.Enum):
    HOST = "host"  # only the host admits
    DELEGATION_HEAD = "delegation_head"  # a delegation's principal admits its own devices too
    OPEN = "open"  # no lobby: every invited device goes straight in (informal meetings, tests)


class AtEnd(enum.Enum):
    HARD_STOP = "hard_stop"
    OVERRUN = "overrun"
