"""Every code the protocol carries, defined once: errors, connection closes, the sets of them
that clients treat alike (the endings of a stay, the DAVE refusals that only mean a lost race),
and the words both clients use for what they see of their call (membership, alarms).

`ErrorCode` is the `code` of an `error` op and of every `ParleyError`; clients get these
enumerations from the JSON Schema (parley.protocol.schema), never from a copy.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    # The device broke the protocol (these count toward its limit of invalid frames).
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_OP = "unknown_op"
    INVALID = "invalid"
    IDENTIFY_FIRST = "identify_first"
    ALREADY_IDENTIFIED = "already_identified"
    # The summit's course and its lobby.
    FORBIDDEN = "forbidden"
    NOT_WAITING = "not_waiting"
    NO_SUCH_DEVICE = "no_such_device"
    NOT_ADMITTED = "not_admitted"
    PHASE_ORDER = "phase_order"
    NO_OVERRUN = "no_overrun"
    # The endings of a stay (ENDINGS).
    ADMISSION_REFUSED = "admission_refused"
    SUMMIT_LOCKED = "summit_locked"
    OPENING_ENDED = "opening_ended"
    SUMMIT_ENDED = "summit_ended"
    REMOVED = "removed"
    UNUSABLE_COMMITS = "unusable_commits"
    INVITATION_REVOKED = "invitation_revoked"
    CERTIFICATE_REVOKED = "certificate_revoked"
    ENROLLMENT_DECLINED = "enrollment_declined"
    # Invitations and entry.
    INVITATION_FORGED = "invitation_forged"
    INVITATION_EXPIRED = "invitation_expired"
    INVITATION_WRONG_SUMMIT = "invitation_wrong_summit"
    INVITATION_UNKNOWN = "invitation_unknown"
    INVITATION_IN_USE = "invitation_in_use"
    DEVICE_CONNECTED = "device_connected"
    LOBBY_FULL = "lobby_full"
    RATE_LIMITED = "rate_limited"
    # Publishing and subscribing, refused by the rules.
    NO_SUCH_FEED = "no_such_feed"
    UNMAPPABLE_OFFER = "unmappable_offer"
    # The media server refused or failed.
    NO_SUBSCRIPTION = "no_subscription"
    NO_CONNECTION = "no_connection"
    MEDIA_UNAVAILABLE = "media_unavailable"
    MEDIA_REFUSED = "media_refused"
    # Interpretation: channels and booths.
    CHANNEL_FORBIDDEN = "channel_forbidden"
    AUDIO_ONLY = "audio_only"
    NO_SUCH_CHANNEL = "no_such_channel"
    BOOTH_BUSY = "booth_busy"
    NOT_LIVE = "not_live"
    ALREADY_LIVE = "already_live"
    NOT_PUBLISHING = "not_publishing"
    # DAVE: the gateway refused a device's DAVE op (parley.e2ee.gateway.Refusal, prefixed).
    DAVE_OVERSIZED = "dave_oversized"
    DAVE_MALFORMED = "dave_malformed"
    DAVE_UNKNOWN_OPCODE = "dave_unknown_opcode"
    DAVE_UNKNOWN_USER = "dave_unknown_user"
    DAVE_UNSUPPORTED_KEY_PACKAGE = "dave_unsupported_key_package"
    DAVE_BAD_SIGNATURE = "dave_bad_signature"
    DAVE_IDENTITY_MISMATCH = "dave_identity_mismatch"
    DAVE_WRONG_GROUP = "dave_wrong_group"
    DAVE_WRONG_EPOCH = "dave_wrong_epoch"
    DAVE_LATE_COMMIT = "dave_late_commit"
    DAVE_NOT_A_COMMIT = "dave_not_a_commit"
    DAVE_NOT_A_MEMBER = "dave_not_a_member"
    DAVE_NOTHING_TO_COMMIT = "dave_nothing_to_commit"
    DAVE_INLINE_PROPOSAL = "dave_inline_proposal"
    DAVE_MISSING_PROPOSAL = "dave_missing_proposal"
    DAVE_UNKNOWN_PROPOSAL = "dave_unknown_proposal"
    DAVE_IDENTITY_CHANGED = "dave_identity_changed"
    DAVE_WELCOME_MISMATCH = "dave_welcome_mismatch"
    DAVE_UNKNOWN_TRANSITION = "dave_unknown_transition"
    # The record (docs/record.md).
    NO_RECORD = "no_record"  # the summit keeps no record: it is not certified
    RECORD_CONFLICT = "record_conflict"  # the log moved on (or its key was set): read it, try again
    RECORD_REFUSED = "record_refused"  # the entry breaks a rule of the record; the message names it
    # On the device's side only: the server did not answer a request in time.
    TIMEOUT = "timeout"


# The errors after which the server closes the connection: the device's stay is over.
ENDINGS = frozenset(
    {
        ErrorCode.ADMISSION_REFUSED,
        ErrorCode.SUMMIT_LOCKED,
        ErrorCode.REMOVED,
        ErrorCode.INVITATION_REVOKED,
        ErrorCode.OPENING_ENDED,
        ErrorCode.SUMMIT_ENDED,
        ErrorCode.UNUSABLE_COMMITS,
        ErrorCode.CERTIFICATE_REVOKED,
        ErrorCode.ENROLLMENT_DECLINED,
    }
)

# The protocol's own codes: a device that keeps breaking the protocol is disconnected.
PROTOCOL_VIOLATIONS = frozenset(
    {
        ErrorCode.MALFORMED,
        ErrorCode.TOO_LARGE,
        ErrorCode.UNKNOWN_OP,
        ErrorCode.INVALID,
        ErrorCode.IDENTIFY_FIRST,
        ErrorCode.ALREADY_IDENTIFIED,
    }
)

# DAVE refusals that only mean "you lost a race" or "too late": not abuse, and nothing for a
# client to warn about. A commit crosses the proposals revoked, added or consumed meanwhile
# (unknown_proposal, missing_proposal, nothing_to_commit), or a group re-created meanwhile
# (wrong_epoch): while members rejoin in quick succession an honest device meets many of them.
LOST_RACES = frozenset(
    {
        ErrorCode.DAVE_LATE_COMMIT,
        ErrorCode.DAVE_MISSING_PROPOSAL,
        ErrorCode.DAVE_UNKNOWN_PROPOSAL,
        ErrorCode.DAVE_UNKNOWN_TRANSITION,
        ErrorCode.DAVE_NOTHING_TO_COMMIT,
        ErrorCode.DAVE_WRONG_EPOCH,
    }
)


class CloseCode(enum.IntEnum):
    """How the server closes a device's WebSocket (docs/protocol.md, "Close codes")."""

    NORMAL = 1000  # the device left
    TRY_AGAIN = 1013  # lobby_full, invitation_in_use, device_connected, the media server unavailable
    NOT_IDENTIFIED = 4001  # no valid identify in time, or silent
    REFUSED = 4003  # the invitation or the host refused it (and invitation_revoked during a stay)
    OPENING_ENDED = 4005
    SUMMIT_ENDED = 4006
    ABUSE = 4008  # too many invalid frames, or not reading its messages
    REMOVED = 4009
    UNUSABLE_COMMITS = 4010
    CERTIFICATE_REVOKED = 4011
    RATE_LIMITED = 4029  # cf. HTTP 429


class MembershipStatus(enum.StrEnum):
    """What a client makes of one member of its call, from its own key group held against the
    server's roster (parley.sdk.membership, web/src/e2ee/membership.ts): never sent, but both
    clients name it alike."""

    IN_CALL = "in_call"  # in the roster and in the key group, with the key it identified with
    JOINING = "joining"  # in the roster, not yet in the key group
    NOT_IN_GROUP = "not_in_group"  # in the roster, still not in the key group after the bound
    LEAVING = "leaving"  # in the key group, left the roster less than the grace ago
    HIDDEN = "hidden"  # in the key group, and the roster does not explain it
    KEY_CHANGED = "key_changed"  # in the key group with another key than before or than identified


class AlarmKind(enum.StrEnum):
    """Why a client raises an alarm about its call (and holds its media)."""

    HIDDEN_MEMBER = "hidden_member"
    KEY_CHANGED = "key_changed"
    NOT_IN_GROUP = "not_in_group"
    # Delegation-certified identities (docs/identity.md): the reason is an IdentityProblem.
    UNCERTIFIED = "uncertified"  # a member of the epoch fails the check against certificates and pins
    ATTESTATION_MISMATCH = "attestation_mismatch"  # a member attests another group at this epoch
    ATTESTATION_SILENT = "attestation_silent"  # a member did not attest the epoch within the bound
    PINS = "pins"  # no pin set from the own delegation, or the summit shows other pins than it
    # The record (docs/record.md): what the server did to the log; the reason is a RecordProblem.
    RECORD_ALTERED = "record_altered"
    RECORD_REORDERED = "record_reordered"
    RECORD_DROPPED = "record_dropped"
    RECORD_FORKED = "record_forked"


class IdentityProblem(enum.StrEnum):
    """Why a member is not certified, or an identity document is refused: one word per reason
    (parley.identity raises them; both clients show them in alarms)."""

    # A document itself.
    MALFORMED = "malformed"  # not one of our documents, or not in its canonical form
    BAD_SIGNATURE = "bad_signature"  # forged, altered in any byte, or signed by another key
    WRONG_SUMMIT = "wrong_summit"  # made for another summit
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"  # its serial is on its delegation's latest revocation list
    STALE = "stale"  # a revocation list or pin set older than the one already held
    # A certificate held against the key group, the pins and the roster.
    NO_CERTIFICATE = "no_certificate"
    KEY_MISMATCH = "key_mismatch"  # certifies another key than the member's leaf carries
    USER_ID_TWICE = "user_id_twice"  # two leaves of the key group claim one user id
    UNPINNED = "unpinned"  # signed by a key no delegation of the summit is pinned to
    FOREIGN_DELEGATION = "foreign_delegation"  # a pinned delegation's key certifying for another
    NOT_IN_ROSTER = "not_in_roster"
    ROSTER_MISMATCH = "roster_mismatch"  # delegation, role, people or language differ from the roster
    NOT_OWN_DELEGATION = "not_own_delegation"  # pins not signed by this device's own delegation key
    # An epoch attestation.
    NOT_A_MEMBER = "not_a_member"  # from a user id that is not in the attested epoch's key group


# The codes of the sets above, by name, as the JSON Schema carries them to clients.
CODE_SETS: dict[str, frozenset[ErrorCode]] = {
    "EndingCode": ENDINGS,
    "ProtocolViolationCode": PROTOCOL_VIOLATIONS,
    "LostRaceCode": LOST_RACES,
}


class RecordProblem(enum.StrEnum):
    """Why a record entry is refused (parley.record.rules), by the server in `record_refused`, by
    a client in an alarm, by `parley verify`: one word per rule, beside a sentence for people."""

    WRONG_SUMMIT = "wrong_summit"
    OUT_OF_ORDER = "out_of_order"  # seq is not the log's length
    FORKED = "forked"  # prev is not the log's head
    UNKNOWN_SIGNER = "unknown_signer"  # no certificate with the signer's serial
    BAD_CERTIFICATE = "bad_certificate"  # the signer's certificate is not good at the entry's time
    NOT_A_SIGNER = "not_a_signer"  # neither a principal nor on its delegation's signer list
    BAD_SIGNATURE = "bad_signature"
    WRONG_KEY = "wrong_key"  # another record key than the summit's
    MALFORMED = "malformed"  # a text kind without a commitment, a sign or seal with one, ...
    BAD_REFERENCE = "bad_reference"  # refers to no outcome, its own delegation's, or another head
    ANSWERED = "answered"  # a delegation signing, declining or sealing twice
    SEALED = "sealed"  # anything but a seal after the first seal
    NOT_CLOSED = "not_closed"  # a seal before the record was closed


class RecordState(enum.StrEnum):
    """Where the summit's record stands (docs/record.md)."""

    OPEN = "open"  # takes positions, outcomes, actions, signatures and declines
    CLOSED = "closed"  # takes only the seals of the delegations' signers
    SEALED = "sealed"  # every delegation sealed the same head: takes nothing more
