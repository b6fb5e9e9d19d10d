"""A task's behaviour is declared in its registry entry: no module outside the registry and the
benchmark definitions names a task, so a new task needs no other module to know it."""

import ast
from pathlib import Path

from xstilts import registry

SRC = Path(__file__).resolve().parents[1] / "src" / "xstilts"
OWNERS = {SRC / "registry.py", SRC / "benchmarks.py"}


def _literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_no_module_but_the_registry_and_the_benchmarks_names_a_task():
    names = set(registry.TASKS)
    assert {"xnli", "bucc", "mlqa", "ccg"} <= names  # the check reads the real registry
    found = [
        f"{path.relative_to(SRC.parent)}:{line}: {value!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path not in OWNERS
        for line, value in _literals(path)
        if value in names
    ]
    assert not found, "task names outside the registry:\n" + "\n".join(found)
