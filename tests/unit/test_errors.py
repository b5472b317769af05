"""The error tree drawn atop parley/protocol/errors.py is the tree the code defines: every ParleyError
subclass in it, under its parent, in the module it names."""

from __future__ import annotations

import importlib
import pkgutil
import re

import parley
from parley.protocol import errors
from parley.protocol.codes import ErrorCode
from parley.protocol.errors import ParleyError, PolicyError

_LINE = re.compile(r"^(?P<indent> *)\* (?P<name>\w+)(?: \((?P<module>[\w.]+)\))?")


def drawn_tree() -> dict[str, tuple[str | None, str]]:
    """Per class drawn: (its parent, its module); a class drawn without a module is in its
    parent's (the root's: parley.protocol.errors)."""
    assert errors.__doc__ is not None
    drawn: dict[str, tuple[str | None, str]] = {}
    parents: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        found = _LINE.match(line)
        if not found:
            continue
        depth = len(found["indent"])
        while parents and parents[-1][0] >= depth:
            parents.pop()
        parent = parents[-1][1] if parents else None
        module = found["module"] or (drawn[parent][1] if parent else errors.__name__)
        drawn[found["name"]] = (parent, module)
        parents.append((depth, found["name"]))
    return drawn


def defined_tree() -> dict[str, tuple[str | None, str]]:
    for module in pkgutil.walk_packages(parley.__path__, "parley."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    defined: dict[str, tuple[str | None, str]] = {ParleyError.__name__: (None, ParleyError.__module__)}
    todo = [ParleyError]
    while todo:
        parent = todo.pop()
        for child in parent.__subclasses__():
            defined[child.__name__] = (parent.__name__, child.__module__)
            todo.append(child)
    return defined


def test_the_drawn_tree_is_the_defined_tree() -> None:
    assert drawn_tree() == defined_tree()


def test_the_reader_of_the_drawing_reads_parents_and_modules() -> None:
    drawn = drawn_tree()
    assert drawn["ParleyError"] == (None, "parley.protocol.errors")
    assert drawn["CourseError"] == ("PolicyError", "parley.summit.course")
    assert drawn["ExpiredToken"] == ("InvitationError", "parley.summit.invitations")


def test_an_error_carries_its_code_and_says_its_message() -> None:
    error = PolicyError(ErrorCode.CHANNEL_FORBIDDEN, "only the ru booth's interpreters publish into ru")
    assert (error.code, str(error)) == (
        "channel_forbidden",
        "only the ru booth's interpreters publish into ru",
    )
    assert isinstance(error, ParleyError)
