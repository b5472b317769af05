"""The record of a summit: positions, co-signed outcomes, action items, sealed, verifiable offline
by anyone holding the delegations' pinned fingerprints (docs/record.md).

Sans-IO throughout, as parley.identity: documents in and out as bytes or text, `now` passed in.

* `statement` - the plaintext of an entry's text, and its commitment.
* `entry` - an entry of the log, signed by a signer's device key.
* `signers` - a delegation's signed list of the certificates that may sign for it.
* `head` - a member's signed word of which log it holds.
* `keys` - the record key, entry texts encrypted under it, and its grants to devices and delegations.
* `rules` - what an entry must be to be appended (the server, every client and the verifier).
* `view` - a client's verified copy, and the alarms naming what the server did.
* `readout` - the exported readout, its printable page, and its offline verification.
* `commands` - `parley verify`.
"""
