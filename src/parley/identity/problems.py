"""Why a member is not certified, or a document is refused: one word per reason, for programs,
beside a sentence for people.

Both clients will show these (an alarm names the member and the reason), so they become codes of
the wire contract (parley.protocol.codes) when the identity ops land there; until then they live
beside the rules that raise them.

`IdentityError` is a `ValueError`, as every parser's refusal is: a caller that received the
document over the network logs it and drops it (or raises the alarm the reason calls for).
"""

from __future__ import annotations

import enum


class Problem(enum.StrEnum):
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


class IdentityError(ValueError):
    """A refused document or an uncertified member: `problem` for programs, the message for people."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
