"""The item dependency graph: cycles (Kahn's algorithm, iterative) and dependants."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One dependency cycle among the nodes of `graph` (node → nodes it depends on), as a
    path whose last node depends on its first, or None. Edges to nodes outside the graph are
    ignored. Runs in O(nodes + edges) without recursion."""
    indegree = dict.fromkeys(graph, 0)
    dependants: dict[str, list[str]] = {node: [] for node in graph}
    for node, needs in graph.items():
        for need in needs:
            if need in graph:
                indegree[node] += 1
                dependants[need].append(node)
    ready = deque(node for node, count in indegree.items() if count == 0)
    while ready:
        node = ready.popleft()
        for dependant in dependants[node]:
            indegree[dependant] -= 1
            if indegree[dependant] == 0:
                ready.append(dependant)
    stuck = {node for node, count in indegree.items() if count > 0}
    return _cycle_within(graph, stuck) if stuck else None


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
