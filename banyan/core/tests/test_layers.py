"""The import contracts (pyproject.toml [tool.importlinter], run by `make imports`) place every app."""

import re
import tomllib
from pathlib import Path

import banyan

PACKAGE = Path(banyan.__file__).parent
CONFIG = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["importlinter"]


def _contract(contract_id: str) -> dict:
    return next(c for c in CONFIG["contracts"] if c["id"] == contract_id)


def _apps() -> set[str]:
    return {f"banyan.{p.parent.name}" for p in PACKAGE.glob("*/apps.py")}


def test_every_app_has_a_layer():
    named = set(re.findall(r"banyan\.\w+", " ".join(_contract("layers")["layers"])))
    missing = _apps() - named
    assert not missing, f"place these apps in a layer of [tool.importlinter] 'layers': {sorted(missing)}"


def test_the_layers_are_the_design_order():
    layers = [re.findall(r"banyan\.\w+", layer) for layer in _contract("layers")["layers"]]
    flat = [name for layer in reversed(layers) for name in layer]
    for lower, higher in [
        ("banyan.core", "banyan.audit"),
        ("banyan.audit", "banyan.places"),
        ("banyan.places", "banyan.people"),
        ("banyan.people", "banyan.notify"),
        ("banyan.sensing", "banyan.warning"),
        ("banyan.warning", "banyan.response"),
        ("banyan.response", "banyan.cockpit"),
        ("banyan.cockpit", "banyan.processes"),
        ("banyan.processes", "banyan.bench"),
    ]:
        assert flat.index(lower) < flat.index(higher), f"{lower} must be below {higher}"


def test_no_app_may_import_the_wiring():
    forbidden = _contract("wiring")
    assert set(forbidden["source_modules"]) >= _apps()
    assert {"banyan.urls", "banyan.api"} <= set(forbidden["forbidden_modules"])


# Where an import of Banyan's own modules may sit inside a function: an app's ready() (models are not
# loaded when apps.py is imported), the benchmarks' and the broker launcher's code that also runs in
# processes where Django is not set up. Everywhere else imports are at the top, where the contracts
# and a reader see them.
LAZY_IMPORTS_ALLOWED = ("bench/*.py", "*/apps.py", "processes/broker.py")


def test_imports_of_banyan_sit_at_the_top_of_modules():
    import ast

    hidden = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if {"tests", "tests_browser", "migrations"} & set(relative.parts) or path.name == "conftest.py":
            continue
        if any(relative.match(pattern) for pattern in LAZY_IMPORTS_ALLOWED):
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if any(name == "banyan" or name.startswith("banyan.") for name in names):
                    hidden.append(f"{relative}:{node.lineno}")
    assert not hidden, "move these imports to the top of their module:\n" + "\n".join(sorted(hidden))
