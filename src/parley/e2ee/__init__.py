"""End-to-end encryption with DAVE (MLS plus per-frame AES-GCM), in the parts each side needs.

Both sides: the wire formats, `tls.py` (TLS presentation language), `mls_wire.py` (MLS structures)
and `opcodes.py` (DAVE ops). The server only: `gateway.py`, the DAVE gateway (MLS external sender
and delivery service) the server drives one of per media group, never holding a member's keys,
and `local_group.py`, a gateway and its members joined in one process (the demo and the tests).
The SDK imports the wire formats alone; this package imports nothing itself, so using them does
not load the gateway.
"""
