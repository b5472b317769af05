"""The WAN test harness (docs/testing-wan.md).

A regular package, not a namespace one, so that it wins over bench/wan.py (the WAN benchmark) for a
bench script that puts tests/ first on its path: a namespace package gives way to a module of the
same name anywhere on the path.
"""
