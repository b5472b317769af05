"""The officer console's proof: a device shows the server it holds its delegation's key.

The server then sends that console its delegation's enrollment requests. The proof binds the
summit and the console's own user id, under a label of its own, so that no other signature of
the delegation key (a certificate, a pin set) can stand in for it, and a proof seen in one
summit or from one device serves no other. It grants nothing but the relay of requests (which
are public to the server anyway): no client trusts a document for having come from a console.

    "parley officer v1" || 0x00 || text summit_id || u64 user_id
"""

from __future__ import annotations

from parley.identity.delegation_key import DelegationKey, verify_signature
from parley.identity.encoding import Writer

LABEL = b"parley officer v1\x00"


def officer_message(summit_id: str, user_id: int) -> bytes:
    return LABEL + Writer().text(summit_id).u64(user_id).bytes()


def prove_officer(key: DelegationKey, summit_id: str, user_id: int) -> bytes:
    return key.sign(officer_message(summit_id, user_id))


def verify_officer(public_key: bytes, proof: bytes, summit_id: str, user_id: int) -> bool:
    return verify_signature(public_key, officer_message(summit_id, user_id), proof)
