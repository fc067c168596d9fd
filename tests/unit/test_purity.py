"""backend.search stays pure: no TensorFlow, database, HTTP or other nasboard packages."""

import ast
import pathlib
import subprocess
import sys

SEARCH = pathlib.Path(__file__).resolve().parents[2] / "backend" / "search"
ALLOWED_TOP = {
    "numpy",
    "pydantic",
    "__future__",
    "collections",
    "copy",
    "dataclasses",
    "hashlib",
    "json",
    "re",
    "typing",
    "math",
}


def test_imports_are_stdlib_numpy_pydantic_or_relative():
    for path in SEARCH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED_TOP, f"{path.name} imports {name}"


def test_importing_does_not_load_heavy_modules():
    code = (
        "import sys, backend.search, backend.search.engine;"
        "bad = [m for m in ('tensorflow', 'keras', 'sqlalchemy', 'fastapi', 'celery', 'worker')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    root = SEARCH.parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
