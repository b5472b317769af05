"""End-to-end encryption: the DAVE gateway (MLS external sender and delivery service).

The server drives one `DaveGateway` per media group; it never holds a member's keys.
"""

from parley.e2ee.gateway import Accepted, DaveGateway, MemberStatus, Outcome, Refusal, Refused, Send

__all__ = ["Accepted", "DaveGateway", "MemberStatus", "Outcome", "Refusal", "Refused", "Send"]
