"""Why a member is not certified, or a document is refused: one word per reason, for programs,
beside a sentence for people.

Both clients show these (an alarm names the member and the reason), so they are codes of the
wire contract: `parley.protocol.codes.IdentityProblem`, named `Problem` here.

`IdentityError` is a `ValueError`, as every parser's refusal is: a caller that received the
document over the network logs it and drops it (or raises the alarm the reason calls for).
"""

from __future__ import annotations

from parley.protocol.codes import IdentityProblem

# The reasons are codes of the wire contract: both clients name them alike.
Problem = IdentityProblem


class IdentityError(ValueError):
    """A refused document or an uncertified member: `problem` for programs, the message for people."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
