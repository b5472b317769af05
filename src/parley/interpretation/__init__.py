"""Simultaneous interpretation inside the encryption: language channels, booths and handover
(`booth.py`, the server's policy), and the listener's mix of a channel over the ducked floor
(`mixer.py`, the SDK's ear). Interpreters are DAVE members like every device; the server sees
only who is live, never a word.
"""
