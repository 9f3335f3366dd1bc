"""The app has one wall clock, read at call time (``chalicelib.clock``).

Fails if a module under ``chalicelib/`` reads the system time itself, keeps its own name for
the clock's function (which a test or the demo's timeline could then move only in part), or
reads the time while it is being imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chalicelib import clock, ids

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
SYSTEM_TIME = {("time", "time"), ("time", "time_ns"), ("time", "gmtime"), ("time", "localtime"),
               ("time", "ctime"), ("time", "asctime"), ("time", "strftime"), ("datetime", "now"),
               ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "clock.py" or p.parent != PACKAGE)


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def _import_time_nodes(tree: ast.Module):
    """Every node evaluated when the module is imported: not function bodies, but their
    defaults and decorators, class bodies and module-level statements."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(node.decorator_list)
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.Lambda):
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _dotted(node)[-2:] in SYSTEM_TIME:
            found.append(f"{where}:{node.lineno} reads the system time ({'.'.join(_dotted(node))}); use clock.now()")
        if isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            if node.module == "time" and names & {"time", "time_ns", "gmtime", "localtime", "ctime", "strftime"}:
                found.append(f"{where}:{node.lineno} imports the system time from time; use clock.now()")
            if node.module == "chalicelib.clock":
                found.append(f"{where}:{node.lineno} binds a name of its own to the clock; import the module")
    for node in _import_time_nodes(tree):
        if isinstance(node, ast.Call) and _dotted(node.func)[-1:] == ("now",):
            found.append(f"{where}:{node.lineno} reads the clock at import ({ast.unparse(node)})")
    return found


def test_no_module_reads_the_time_but_through_the_one_clock():
    offences = [line for path in _modules() for line in _offences(path)]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("source, offence", [
    ("import time\nSTARTED = time.time()\n", "reads the system time"),
    ("from datetime import datetime\ndef f():\n    return datetime.now()\n", "reads the system time"),
    ("from chalicelib.clock import now\n", "binds a name of its own"),
    ("from chalicelib import clock\nBOOT = clock.now()\n", "reads the clock at import"),
    ("from chalicelib import clock\ndef f(at=clock.now()):\n    return at\n", "reads the clock at import"),
    ("from chalicelib import clock\nclass A:\n    born = clock.now()\n", "reads the clock at import"),
])
def test_the_check_finds_each_way_of_going_around_the_clock(tmp_path, monkeypatch, source, offence):
    path = tmp_path / "chalicelib" / "probe.py"
    path.parent.mkdir()
    path.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any(offence in line for line in _offences(path)), _offences(path)


def test_a_function_reading_the_clock_when_called_is_fine(tmp_path, monkeypatch):
    path = tmp_path / "chalicelib" / "fine.py"
    path.parent.mkdir()
    path.write_text("from chalicelib import clock\ndef f(read=clock.now):\n    return clock.now(), read()\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _offences(path) == []


def test_importing_every_module_reads_no_clock():
    """In a fresh interpreter whose clock raises, every module under chalicelib imports."""
    script = textwrap.dedent("""
        import importlib, pkgutil
        import chalicelib
        from chalicelib import clock

        def stopped():
            raise AssertionError("the clock was read at import")

        clock.set_source(stopped)
        names = [m.name for m in pkgutil.walk_packages(chalicelib.__path__, "chalicelib.")]
        for name in names:
            importlib.import_module(name)
        import app  # the routes and the event handlers, as Lambda imports them
        print(len(names))
    """)
    env = {"PYTHONPATH": str(ROOT), "DONGNE_STAGE": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 50


def test_the_clock_is_read_at_call_time_and_can_be_moved_back():
    before = clock.set_source(lambda: 1_900_000_000.0)
    try:
        assert clock.now() == 1_900_000_000.0
        assert ids.time_of(ids.new_id()) == pytest.approx(1_900_000_000.0)
    finally:
        clock.set_source(before)
    assert clock.now() != 1_900_000_000.0


def test_ids_made_while_the_clock_stands_still_sort_in_the_order_they_were_made(monkeypatch):
    monkeypatch.setattr(clock, "_source", lambda: 1_900_000_000.0)
    made = [ids.new_id() for _ in range(500)]
    assert made == sorted(made) and len(set(made)) == 500
