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
