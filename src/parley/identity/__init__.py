"""Delegation-certified identities: each delegation vouches for its own devices, the others pin its
key, and every client checks every member of every epoch by itself (docs/identity.md).

Sans-IO throughout: documents in and out as bytes or text, `now` passed in, no network.

* `fingerprint` - a delegation key's 30-digit fingerprint, read over a phone line.
* `delegation_key` - the delegation's Ed25519 key, sealed at rest with a passphrase.
* `encoding` - the one canonical byte form of every signed document, and its text armour.
* `claim` - what a device says it is: summit, delegation, role, people, key, user id.
* `certificate` - a delegation's signature over a claim, for a time; its verification.
* `revocation` - a delegation's signed, numbered list of revoked serials.
* `enrollment` - a device's request, the officer's approval, the device's check of the answer.
* `pins` - which key speaks for which delegation, signed by the device's own delegation.
* `epoch_check` - every leaf of a key group held against certificates, pins and roster.
* `attestation` - members sign the epoch they are in; a tracker finds the silent and the split.
* `officer` - an officer console's proof that it holds the delegation key.
* `problems` - the reasons, and `IdentityError`.
* `commands` - `parley delegation keygen | fingerprint | approve | pins | revoke`.
"""
