"""The item dependency graph: cycles (Kahn's algorithm, iterative) and dependants."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One dependency cycle among the nodes of `graph` (node → nodes it depends on), as a
    path whose last node depends on its first, or None. Edges to nodes outside the graph are
    ignored. Runs in O(nodes + edges) without recursion."""
    order = _dependencies_first(graph)
    stuck = set(graph) - set(order)
    return _cycle_within(graph, stuck) if stuck else None


def _dependencies_first(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The nodes in an order where each comes after what it depends on (Kahn's algorithm);
    nodes on or behind a cycle are left out."""
    indegree = dict.fromkeys(graph, 0)
    dependants: dict[str, list[str]] = {node: [] for node in graph}
    for node, needs in graph.items():
        for need in needs:
            if need in graph:
                indegree[node] += 1
                dependants[need].append(node)
    ready = deque(node for node, count in indegree.items() if count == 0)
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for dependant in dependants[node]:
            indegree[dependant] -= 1
            if indegree[dependant] == 0:
                ready.append(dependant)
    return order


def _cycle_within(graph: Mapping[str, Sequence[str]], stuck: set[str]) -> list[str]:
    """Walk dependencies inside the nodes Kahn could not order until a node repeats."""
    node = min(stuck)  # deterministic
    seen: dict[str, int] = {}
    path: list[str] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(need for need in graph[node] if need in stuck)
    return path[seen[node] :]


def dependants_of(graph: Mapping[str, Sequence[str]], roots: Iterable[str]) -> set[str]:
    """Every node depending, directly or not, on one of `roots` (roots excluded)."""
    reverse: dict[str, list[str]] = {}
    for node, needs in graph.items():
        for need in needs:
            reverse.setdefault(need, []).append(node)
    start = set(roots)
    found: set[str] = set()
    pending = list(start)
    while pending:
        for dependant in reverse.get(pending.pop(), ()):
            if dependant not in found and dependant not in start:
                found.add(dependant)
                pending.append(dependant)
    return found


def every_dependants(graph: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """`dependants_of` for every node at once: one pass, dependants before what they depend
    on, each node's set a bit mask OR-ed from its direct dependants' (so hundreds of items
    with thousands of edges take milliseconds, not one graph walk per item)."""
    nodes = list(graph)
    bit = {node: 1 << n for n, node in enumerate(nodes)}
    direct: dict[str, list[str]] = {node: [] for node in nodes}
    for node, needs in graph.items():
        for need in dict.fromkeys(needs):
            if need in bit:
                direct[need].append(node)
    order = _dependencies_first(graph)
    if len(order) < len(nodes):  # a cycle (refused on admission): one walk per node
        return {node: dependants_of(graph, [node]) for node in nodes}
    masks: dict[str, int] = {}
    for node in reversed(order):
        mask = 0
        for dependant in direct[node]:
            mask |= bit[dependant] | masks[dependant]
        masks[node] = mask
    return {node: {nodes[n] for n in _set_bits(mask)} for node, mask in masks.items()}


def _set_bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
