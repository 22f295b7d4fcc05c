"""The job graph: cycle detection and a stable topological order. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as ``[a, b, ..., a]`` (following ``needs`` edges), or None."""
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if color.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if color.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = 2
        return None

    for node in graph:
        if color.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def topo_order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes ordered so every node comes after its needs; ties keep file order."""
    done: set[str] = set()
    order: list[str] = []
    pending = list(graph)
    while pending:
        progressed = False
        for node in list(pending):
            if all(n in done for n in graph[node]):
                order.append(node)
                done.add(node)
                pending.remove(node)
                progressed = True
        if not progressed:
            raise ValueError("cycle in graph: " + ", ".join(pending))
    return order
