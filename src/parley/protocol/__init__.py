"""Parley's wire protocol, in one place: the codes, the ops in both directions, their JSON Schema.

The server, the SDK and (through the generated files in web/src/generated) the browser all speak
these models; nothing else defines what travels on the signalling socket (docs/protocol.md).

* `codes` - every error code, close code and code set, once.
* `fields` - the values ops carry (names, keys, proofs) and their bounds.
* `device_ops` - device to server, parsed at the edge (`parse_device_frame`).
* `server_ops` - server to device (`encode`, and `parse_server_frame` for clients).
* `dave_ops` - DAVE's numbered JSON ops, both directions.
* `schema` - the JSON Schema of all of it (`python -m parley.protocol.schema`).
"""
