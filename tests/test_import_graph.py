"""The `feeds` package imports in one direction: no module-level import loops, and the core never
imports a plug-in app (timing, messaging, webhooks hook into the core, not the other way round)."""

from __future__ import annotations

import ast
from pathlib import Path

FEEDS = Path(__file__).resolve().parent.parent / "feeds"
PLUGINS = ("feeds.timing", "feeds.messaging", "feeds.webhooks")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(path, root): path for path in root.rglob("*.py")}


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(path: Path, root: Path, *, module_level_only: bool) -> set[str]:
    """What the file imports, as absolute dotted names (`from . import x` gives the package and `.x`)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level_only and (
                isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                or is_type_checking_block(child)
            ):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    name = module_name(path, root)
                    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
                    anchor = ".".join(package[: len(package) - child.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def import_graph(root: Path = FEEDS, *, module_level_only: bool) -> dict[str, set[str]]:
    """Each module of the package at `root` and the modules of that package it imports."""
    known = modules(root)
    return {
        name: {
            target
            for target in imported_names(path, root, module_level_only=module_level_only)
            if target in known
        }
        - {name}
        for name, path in known.items()
    }


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def is_plugin(name: str) -> bool:
    return any(name == plugin or name.startswith(plugin + ".") for plugin in PLUGINS)


def test_feeds_modules_import_each_other_without_loops():
    assert import_cycles(import_graph(module_level_only=True)) == []


def test_a_loop_through_relative_imports_is_found(tmp_path):
    # The loop feeds had: models imported the webhook models at its bottom, which import events,
    # which imports models. A function-level or TYPE_CHECKING import is no loop.
    files = {
        "__init__.py": "",
        "models.py": "class Feed: pass\nfrom .webhooks.models import Subscription\n",
        "events.py": "from .models import Feed\n",
        "roles.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .models import Feed\n",
        "views.py": "def view():\n    from .webhooks import models\n",
        "webhooks/__init__.py": "",
        "webhooks/models.py": "from .. import events, roles\n",
    }
    for name, text in files.items():
        (tmp_path / "feeds" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "feeds" / name).write_text(text)
    graph = import_graph(tmp_path / "feeds", module_level_only=True)
    assert import_cycles(graph) == [["feeds.events", "feeds.models", "feeds.webhooks.models"]]
    assert "feeds.webhooks.models" in import_graph(tmp_path / "feeds", module_level_only=False)["feeds.views"]


def test_the_core_imports_no_plugin_app_anywhere():
    # Every import counts here, even inside functions: the core must run with no plug-in installed.
    core_imports = {
        name: sorted(target for target in targets if is_plugin(target))
        for name, targets in import_graph(module_level_only=False).items()
        if not is_plugin(name)
    }
    assert {name: targets for name, targets in core_imports.items() if targets} == {}


def test_no_loop_is_hidden_by_an_import_inside_a_function():
    # An import moved into a function to dodge a loop still ties the two modules together. An app's
    # `ready()` is where plug-ins reach into the core by design, so `apps` modules are left out.
    graph = {
        name: {target for target in targets if not target.endswith(".apps")}
        for name, targets in import_graph(module_level_only=False).items()
        if not name.endswith(".apps")
    }
    assert import_cycles(graph) == []


def test_tasks_queued_by_an_earlier_release_still_resolve():
    # A queued row names its task by import path; the tasks now live beside their work.
    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    for path in (
        "feeds.tasks.publish_at_time",
        "feeds.webhooks.tasks.deliver_webhooks",
        "feeds.webhooks.tasks.ping_websub_hub",
    ):
        assert isinstance(import_string(path), Task)
