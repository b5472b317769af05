"""`parley`, the command: what it imports depends on the command asked for.

`parley verify` is what a reader of a readout runs, on a machine that may never run a call:
it needs the record's core and nothing else, so it (and `parley record`, whose work is as
offline) starts without importing the server, the SDK and the media stack, which take seconds.
Every other command is `parley.cli`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

LIGHT = ("verify", "record")  # the commands parley.record.commands holds


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in LIGHT:
        from parley.record import commands  # only these: the point of this module

        parser = argparse.ArgumentParser(prog="parley")
        commands.add_parser(parser.add_subparsers(dest="command", required=True))
        return commands.run(parser.parse_args(args))
    from parley.cli import main as everything

    return everything(args)


if __name__ == "__main__":
    sys.exit(main())
