"""The import graph of `src/parley`, read with `ast` (nothing is imported): the packages depend on
each other one way, and the SDK a device runs carries none of the server's room, signalling or
DAVE gateway."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src"

# What a device's SDK must never load: the server's side of a call. The SDK may speak the wire
# protocol (parley.protocol) and the DAVE wire formats, nothing else of the server.
SERVER_ONLY = frozenset(
    {
        "parley.e2ee.gateway",
        "parley.e2ee.local_group",
        "parley.server.app",
        "parley.server.room",
        "parley.server.runtime",
        "parley.server.signaling",
    }
)
SDK_MAY_USE_OF_THE_SERVER: frozenset[str] = frozenset()


def _module_names() -> dict[str, Path]:
    modules = {}
    for path in (SOURCE / "parley").rglob("*.py"):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = _module_names()


def _imported(name: str, path: Path) -> Iterator[str]:
    """The parley modules a module imports, anywhere in it (functions and TYPE_CHECKING too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            for alias in node.names:
                # `from parley.e2ee import mls_wire` imports a module; `from x import Name`, x.
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _with_packages(module: str) -> Iterator[str]:
    """A module and the packages Python runs on the way to it (parley.a.b: parley.a, parley.a.b)."""
    parts = module.split(".")
    for end in range(2, len(parts) + 1):
        yield ".".join(parts[:end])


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {m for imported in _imported(name, path) for m in _with_packages(imported)}
        graph[name] = {m for m in targets if m in MODULES and m != name}
    return graph


def top_level(module: str) -> str:
    return ".".join(module.split(".")[:2])  # parley.summit.model: parley.summit


def package_graph(graph: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(top_level(module), set())
        edges.update(top_level(t) for t in targets if top_level(t) != top_level(module))
    return packages


def cycle(graph: Mapping[str, Set[str]]) -> list[str] | None:
    """One cycle of the graph, as the nodes along it, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    return next((c for node in sorted(graph) if (c := visit(node, []))), None)


def reachable(graph: Mapping[str, Set[str]], start: Set[str]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_reader_finds_the_imports_it_must_judge() -> None:
    graph = import_graph()
    assert "parley.e2ee.mls_wire" in graph["parley.e2ee.gateway"]  # from parley.e2ee import mls_wire
    assert "parley.protocol.fields" in graph["parley.sdk.client"]
    assert "parley.summit.model" in graph["parley.store.database"]


def test_the_cycle_finder_finds_a_package_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_two_packages_import_each_other_even_through_a_third() -> None:
    packages = package_graph(import_graph())
    assert {"parley.summit", "parley.store", "parley.sdk", "parley.server"} <= set(packages)
    assert cycle(packages) is None


def test_the_summit_domain_does_not_depend_on_its_store() -> None:
    summit = {m for m in MODULES if top_level(m) == "parley.summit"}
    assert not {m for m in reachable(import_graph(), summit) if top_level(m) == "parley.store"}


def test_the_sdk_imports_of_the_server_its_wire_protocol_alone() -> None:
    graph = import_graph()
    sdk = {m for m in MODULES if top_level(m) == "parley.sdk"}
    direct = {t for m in sdk for t in graph[m] if top_level(t) == "parley.server"}
    assert direct <= SDK_MAY_USE_OF_THE_SERVER


def test_the_sdk_never_loads_the_server_side_of_a_call() -> None:
    sdk = {m for m in MODULES if top_level(m) == "parley.sdk"}
    assert set(MODULES) >= SERVER_ONLY  # the names are real modules
    assert not reachable(import_graph(), sdk) & SERVER_ONLY
