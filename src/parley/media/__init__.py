"""The media plane: Janus VideoRoom as Parley's SFU, run and driven by the Parley server alone.

Clients never reach Janus's API: their offers, answers and candidates pass Parley's signalling and policy,
and the server relays them to Janus (docs/architecture.md).
"""
