"""The package's layout holds: no import circle anywhere in polite_crawl, and the Scrapy-free
layers import nothing from Scrapy or Twisted. Every import counts: at module level, inside a
function (a lazy import hides a circle, it does not remove it) and under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "polite_crawl"
# The layers that must run without Scrapy: the decision core and what it reads and writes,
# and the Web Bot Auth signing core (the wire hook that uses it lives in shell/), and what the
# gate reads of a browser's requests (the glue with scrapy-playwright lives in shell/).
SCRAPY_FREE = (
    "core",
    "robots",
    "origin",
    "policy",
    "signals",
    "audit",
    "botauth",
    "fleet",
    "browser",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module name `name` imports (absolute, as written or resolved from relative)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                # `from polite_crawl.shell import records` imports the submodule records.
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in MODULES else module)
    return out


def _own(target: str) -> str | None:
    """The polite_crawl module an imported name lives in (None: not ours)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {_own(t) for t in _imports(name, path) if t.startswith("polite_crawl")}
        # Importing a submodule runs its package's __init__ too, but that is not a circle of
        # the code's making: only the edges written count.
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_circle() -> None:
    assert _circles(_graph()) == []


def test_the_circle_finder_finds_one() -> None:
    # The test above can fail: a made-up graph with a circle is reported.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", SCRAPY_FREE)
def test_the_scrapy_free_layers_import_no_scrapy(layer: str) -> None:
    prefix = f"polite_crawl.{layer}"
    offending = {
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name == prefix or name.startswith(prefix + ".")
        for target in _imports(name, path)
        if target.split(".")[0] in {"scrapy", "twisted"}
    }
    assert sorted(offending) == []


def test_every_layer_named_exists() -> None:
    # A layer renamed away would make its test above pass vacuously.
    assert all(f"polite_crawl.{layer}" in MODULES for layer in SCRAPY_FREE)
