"""The organiser's pins: every delegation's key or none, each key once, names a certificate carries."""

from __future__ import annotations

import pytest

from parley.identity.delegation_key import DelegationKey
from parley.summit.model import check_pins

A, B = DelegationKey.generate().fingerprint, DelegationKey.generate().fingerprint


def test_pins_as_typed_are_kept_as_thirty_digits() -> None:
    typed = {"North": str(A), "South": "-".join(B.digits[i : i + 5] for i in range(0, 30, 5))}
    assert check_pins(["North", "South"], typed) == {"North": A.digits, "South": B.digits}
    assert check_pins(["North", "South"], {}) == {}


@pytest.mark.parametrize(
    ("names", "pins", "why"),
    [
        (["North", "South"], {"North": str(A)}, "pin every delegation's key, or none"),
        (["North", "South"], {"North": str(A), "West": str(B)}, "no delegation is named 'West'"),
        (["North", "South"], {"North": str(A), "South": str(A)}, "two pins are the same"),
        (["North", "South"], {"North": str(A), "South": "123"}, "30 digits"),
        (["North", "South\u202e"], {"North": str(A), "South\u202e": str(B)}, "printable"),
        (["North", "Cafe\u0301"], {"North": str(A), "Cafe\u0301": str(B)}, "NFC"),
    ],
)
def test_pins_that_cannot_stand_are_refused_saying_why(
    names: list[str], pins: dict[str, str], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        check_pins(names, pins)
