"""The generated pages stay true to the code: the event catalogue, the rule index and the
HTTP API's route index."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["document_events", "document_rules", "document_api"])
def test_generated_docs_match_the_code(name: str) -> None:
    generator = script(name)
    assert generator.TARGET.read_text(encoding="utf-8") == generator.render(), (
        f"docs are stale: run .venv/bin/python scripts/{name}.py"
    )


def test_every_rule_is_proved_by_a_test_named_after_it() -> None:
    rules = script("document_rules")
    assert sorted(set(rules.RULES) - set(rules.test_references())) == []
