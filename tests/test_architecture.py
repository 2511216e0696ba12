"""The import rule: stages import only from their own stage or lower ones.

exceptions/schema/registry <- load <- timeline <- stats <- plot <- report <- cli

Every module's syntax tree is read, so an import inside a function counts too.
Two exceptions: a fitted model's ``.plot()`` method delegates lazily to ``plot/``
(as ``DataFrame.plot`` does), and the command line imports its stages inside
each command so that ``--help`` starts without pandas or matplotlib. Inside
functions, other modules import only third-party libraries (to defer them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sma_outcomes"

#: First part of the module path below sma_outcomes -> stage number.
STAGES = {
    "_version": 0,
    "_lazy": 0,
    "_shared": 0,
    "exceptions": 0,
    "schema": 0,
    "registry": 0,
    "load": 1,
    "timeline": 2,
    "stats": 3,
    "plot": 4,
    "report": 5,
    "cli": 6,
    "__main__": 6,
}


def _modules(package: Path = PACKAGE) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join(["sma_outcomes", *parts]), path))
    return out


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "sma_outcomes":
        return None
    if len(parts) == 1:
        return None  # the package itself: lazy re-exports only
    return STAGES[parts[1]]


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = module.split(".")
        if path.name != "__init__.py":
            pkg = pkg[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if node.module is None:  # from . import x
        return [f"{base}.{a.name}" for a in node.names]
    return [base]


def _imports(module: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve(module, path, node)
        else:
            continue
        chain, up = [], parents.get(node)
        while up is not None:
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                chain.append(up.name)
            up = parents.get(up)
        for target in targets:
            yield target, chain, node.lineno


def _violations(package: Path = PACKAGE) -> list[str]:
    bad = []
    for module, path in _modules(package):
        here = _stage(module)
        for target, functions, line in _imports(module, path):
            there = _stage(target)
            if there is None or here is None:
                continue
            where = f"{path.relative_to(package.parent)}:{line} imports {target}"
            delegate = bool(functions) and functions[0] == "plot" and target.startswith(
                "sma_outcomes.plot")
            if there > here and not delegate:
                bad.append(f"{where} (a higher stage)")
            elif functions and here != 6 and not delegate:
                bad.append(f"{where} inside {functions[0]}() (import at the top)")
    return bad


def test_every_module_has_a_stage():
    for module, _path in _modules():
        if module != "sma_outcomes":
            assert module.split(".")[1] in STAGES, module


def test_no_import_points_up_or_hides_in_a_function():
    bad = _violations()
    assert not bad, "import rule broken:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..plot import plot_cohort\n", "a higher stage"),
        ("def f():\n    from ..load import read_scores\n", "import at the top"),
    ],
)
def test_the_rule_catches_a_back_edge(tmp_path, source, expected):
    package = tmp_path / "sma_outcomes"
    (package / "stats").mkdir(parents=True)
    (package / "stats" / "probe.py").write_text(source, encoding="utf-8")
    assert any(expected in v and "probe.py" in v for v in _violations(package))
