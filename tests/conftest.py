import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["TRANSFERLAB_OFFLINE"] = "1"       # never probe the network from tests
os.environ["TRANSFERLAB_NO_WORKERS"] = "1"    # no decoding processes: tiny data, fast start
os.environ["TRANSFERLAB_PREPARE"] = "0"       # no warm training process per page test (tests that want one ask)
os.environ["TRANSFERLAB_LANG"] = "en"          # the tests read English unless one asks for another language
if not os.environ.get("TRANSFERLAB_ENGINES"):  # each backbone exported once for the whole session, then removed
    os.environ["TRANSFERLAB_ENGINES"] = tempfile.mkdtemp(prefix="transferlab-engines-")
    atexit.register(shutil.rmtree, os.environ["TRANSFERLAB_ENGINES"], True)
os.environ["TRANSFERLAB_PLUGINS"] = "tests.helpers:register_test_backbones"  # also in training children

from tests.helpers import TINY, TINY_BERT, make_image_folder, register_tiny, register_tiny_bert, write_text_csv  # noqa: E402
from core import backbones  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own data/cache/runs folders."""
    monkeypatch.setenv("TRANSFERLAB_HOME", str(tmp_path / "home"))
    for variable in ("TRANSFERLAB_CACHE", "TRANSFERLAB_RUNS"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "home"


_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def main_module_restored():
    """AppTest runs page scripts as __main__ and can leave one in sys.modules; a process started later with
    multiprocessing's spawn re-imports __main__ and died on that script (NameError: __args) whenever a page
    test ran before test_distributed.py in the same session."""
    yield
    sys.modules["__main__"] = _MAIN


@pytest.fixture(scope="session", autouse=True)
def tiny_backbone():
    spec = register_tiny()
    register_tiny_bert()
    yield spec
    backbones.unregister(TINY)
    backbones.unregister(TINY_BERT)


@pytest.fixture
def colors_folder(tmp_path) -> Path:
    """Two learnable classes, 12 images each, no val folder."""
    return make_image_folder(tmp_path / "colors", {"red": 12, "blue": 12})


@pytest.fixture
def reviews_csv(tmp_path) -> Path:
    """Two learnable labels, 20 short reviews each, with a header."""
    return write_text_csv(tmp_path / "reviews.csv")
