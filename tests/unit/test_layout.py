"""The package layout holds: no import cycles, and each layer imports only what is below it.

Read from the source's own imports (module level and inside functions; `if TYPE_CHECKING:` blocks are
for the type checker only and do not run), the way tests/test_lint.py runs ruff.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL_LIMIT = 8
CHAT_AND_CLI = ("bot.chat", "bot.cli")
COMPOSITION = {"bot.services", "bot.schema", "bot.scheduler", "bot.__main__"}
"""Modules that wire features together (and may know the chat's delivery schema)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    files = [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")]
    return {module_name(f): f for f in files}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules that `path` imports when it runs."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    found.add(sub if sub in modules else child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in modules}


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def violations(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            if source.startswith("bot.core") and not target.startswith("bot.core"):
                found.append(f"{source} → {target}: core imports nothing else of bot")
            elif source.startswith("bot.store") and not target.startswith(("bot.core", "bot.store")):
                found.append(f"{source} → {target}: store imports only core")
            elif (not source.startswith((*CHAT_AND_CLI, "handlers")) and source not in COMPOSITION
                  and target.startswith(CHAT_AND_CLI)):
                found.append(f"{source} → {target}: features never import chat or cli")
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_layers_import_only_downwards() -> None:
    assert violations(graph()) == []


def test_the_checks_see_a_cycle_and_a_violation() -> None:
    edges = {"bot.core.a": {"bot.sla.engine"}, "bot.sla.engine": {"bot.core.a", "bot.chat.router"}}
    assert cycles(edges) == [["bot.core.a", "bot.sla.engine"]]
    assert violations(edges) == ["bot.core.a → bot.sla.engine: core imports nothing else of bot",
                                 "bot.sla.engine → bot.chat.router: features never import chat or cli"]


def test_function_level_imports_count(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.services\n"
                      "def f():\n    from bot.core import clock\n")
    assert imports_of(source, {"bot.services": source, "bot.core.clock": source}) == {"bot.core.clock"}


def test_few_modules_directly_in_bot() -> None:
    assert len(list(ROOT.joinpath("bot").glob("*.py"))) <= TOP_LEVEL_LIMIT


def test_no_module_shadows_the_standard_library() -> None:
    import sys

    shadows = [name for name in all_modules() if name.rsplit(".", 1)[-1] in sys.stdlib_module_names
               and name.count(".") >= 1 and not name.endswith("__main__")]
    assert shadows == []


WIRING = (*CHAT_AND_CLI, "handlers", "bot.demo")
"""Where `Services` may be used besides COMPOSITION: the edge (chat, CLI, handlers, the demo builder)."""


def imports_services(path: Path) -> bool:
    """Whether a module imports bot.services at all, type-only imports included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "bot.services":
            return True
        if isinstance(node, ast.Import) and any(alias.name == "bot.services" for alias in node.names):
            return True
    return False


def test_features_receive_what_they_use_not_the_whole_services() -> None:
    """Services is the composition root: features are handed the archive, the directory, the clock, …"""
    wired = [name for name, path in sorted(all_modules().items())
             if not name.startswith(WIRING) and name not in COMPOSITION and imports_services(path)]
    assert wired == []


def test_a_type_only_import_of_services_counts(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.services import Services\n")
    assert imports_services(source)
    source.write_text("from bot.store.db import write_transaction\n")
    assert not imports_services(source)
