"""Imports flow one way: front doors → service → db. A service never imports a framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import editorial_assistant

PACKAGE = Path(editorial_assistant.__file__).parent
FORBIDDEN_IN_SERVICES = ("fastapi", "starlette", "huey", "mcp", "click", "gunicorn")
SERVICES = sorted(PACKAGE.rglob("service.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_service_imports_no_framework_and_no_router(path: Path) -> None:
    for module in imported_modules(path):
        root = module.split(".")[0]
        assert root not in FORBIDDEN_IN_SERVICES, f"{path.name} imports {module}"
        assert not module.endswith((".router", ".tasks", ".commands")), module


def test_there_are_services_to_check() -> None:
    assert len(SERVICES) >= 4


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert not missing
