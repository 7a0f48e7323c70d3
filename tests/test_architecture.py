"""The import graph, read from the source with an AST walk: data and calls flow one way
(crm_core <- intents <- bot, crm_core <- notifiers <- bot, messaging beneath all), with no
import cycles among modules and no import inside a function that would hide one."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "intents", "crm_core", "notifiers", "messaging")
# What each layer may not import.
FORBIDDEN = {
    "messaging": {"bot", "intents", "crm_core", "notifiers"},
    "crm_core": {"bot", "intents", "notifiers"},
    "intents": {"bot", "notifiers"},
    "notifiers": {"bot", "intents"},
}
# Imports inside a function that are there to load an optional, slow dependency late (not to
# dodge a cycle: the checks below prove there is none): the LLM client (openai, ~0.4 s) when an
# LLM is configured, a platform's SDK-bound adapter when that platform is configured, and the
# service only when a command serves.
LAZY = {("intents.recognize", "intents.llm"), ("bot.cli.serve", "bot.http"), ("bot.cli.serve", "bot.service"),
        ("bot.platforms.slack", "bot.platforms.slack.adapter"), ("bot.platforms.wecom", "bot.platforms.wecom.adapter")}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _targets(node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The project modules an import statement loads: `from pkg import sub` names pkg.sub when sub
    is a module, else pkg."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module.split(".")[0] not in PACKAGES:
            return []
        subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
        return subs if len(subs) == len(node.names) else [node.module, *subs]
    return []


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    inner: list[tuple[str, str, int]] = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for target in _targets(node, MODULES):
                if target != name:
                    edges[name].add(target)
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    inner += [(name, target, node.lineno) for target in _targets(node, MODULES)]
    return edges, inner


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
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


EDGES, INNER = _graph()


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    wrong = sorted((module, target) for module, targets in EDGES.items() if module.split(".")[0] == layer
                   for target in targets if target.split(".")[0] in FORBIDDEN[layer])
    assert wrong == []


def test_no_import_cycles_among_modules():
    assert _cycles(EDGES) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_inside_a_function_but_the_named_late_loads():
    assert sorted({(module, target) for module, target, _ in INNER} - LAZY) == []
