"""The architecture's promises, checked: core is UI-free, pages leave the math to core."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    offenders = [p.name for p in (ROOT / "core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []
    loaded = subprocess.run([sys.executable, "-c", "import sys, core.train, core.jobs, core.__main__; "
                             "print('streamlit' in sys.modules)"], cwd=ROOT, capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr


def test_pages_do_not_import_torch_directly():
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    offenders = [p.name for p in files if _imports(p) & {"torch", "torchvision", "timm"}]
    assert offenders == []
