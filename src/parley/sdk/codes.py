"""Verification codes as people read them: digits in groups of five.

The group code is DAVE's epoch authenticator shown as 30 digits; a pairwise code is the
scrypt fingerprint of two members' signature keys shown as 45 digits (daveprotocol.com,
"Displayable Codes"). Equal codes on two screens mean the same group, or the same two keys.
"""

from __future__ import annotations

import dave

GROUP_CODE_DIGITS = 30
PAIRWISE_CODE_DIGITS = 45
GROUP_SIZE = 5


def group_code(epoch_authenticator: bytes) -> str:
    return format_code(dave.generate_displayable_code(epoch_authenticator, GROUP_CODE_DIGITS, GROUP_SIZE))


def pairwise_code(fingerprint: bytes) -> str:
    return format_code(dave.generate_displayable_code(fingerprint, PAIRWISE_CODE_DIGITS, GROUP_SIZE))


def format_code(digits: str) -> str:
    """'123451234512345' -> '12345 12345 12345'."""
    if not digits.isdecimal() or len(digits) % GROUP_SIZE:
        raise ValueError("a code is a run of digits in whole groups of five")
    return " ".join(digits[i : i + GROUP_SIZE] for i in range(0, len(digits), GROUP_SIZE))
