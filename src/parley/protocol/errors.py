"""Parley's errors: one tree, each error carrying the code a device's `error` op carries.

Whatever a device is refused, or cannot have because a part failed, is a `ParleyError(code,
message)`: `code` is the wire code (parley.protocol.codes.ErrorCode), and the message names
the rule or the failure for a person. The signalling connection (`parley.server.signaling`) turns
any of them into an `error` op in one place, and decides there which ones count toward a
device's limit of bad messages: a broken protocol does, a refusal of what is not allowed (to this
device, or now) and a failure of the server's own parts do not.

* ParleyError
  * ProtocolError (parley.protocol.base) - the device broke the wire protocol
  * DaveRefusal (parley.server.signaling) - the DAVE gateway refused a device's DAVE op
  * InvitationError (parley.summit.invitations) - a token admits no one (here, or any more)
    * ForgedToken
    * ExpiredToken
    * WrongSummit
    * RevokedInvitation
    * UnknownInvitation
  * PolicyError - the rules refuse this request, to this device or now (channels, feeds, roles)
    * CourseError (parley.summit.course) - the summit's course: lobby, admission, phases, lock, clock
    * BoothError (parley.interpretation.booth) - a booth's turns and handover
  * MediaError (parley.media.plane) - the media server refused or failed: not the device's doing
  * RequestRefused (parley.sdk.requests) - on the device's side: the server refused its request
    * JoinError (parley.sdk.client) - the server did not admit the device
  * RequestTimeout (parley.sdk.requests) - on the device's side: a request went unanswered

Each module defines its own, beside the rules that raise it; this module holds the root and the
policy refusals that are no single domain's. Parsers below the edge (SDP, MLS, Janus JSON) raise
`ValueError`s of their own, which the layer above turns into one of these.
"""

from __future__ import annotations

from parley.protocol.codes import ErrorCode


class ParleyError(Exception):
    """A refusal or failure a device is told of: `code` for programs, the message for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class PolicyError(ParleyError):
    """The rules refuse this request, for this device or for now (`forbidden`, `not_admitted`,
    `channel_forbidden`, ...): nothing failed, and the device did not break the protocol."""
