"""Where TransferLab keeps its files. One place decides, everything else asks here.

Layout under the home folder (``TRANSFERLAB_HOME``, default ``./workspace``):
    data/    extracted uploads and the bundled samples
    cache/   feature cache shared by all runs (``TRANSFERLAB_CACHE`` overrides)
    runs/    one folder per training run (``TRANSFERLAB_RUNS`` overrides)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("TRANSFERLAB_HOME", "workspace")).expanduser().resolve()


def data_dir() -> Path:
    return home() / "data"


def cache_dir() -> Path:
    override = os.environ.get("TRANSFERLAB_CACHE")
    return Path(override).expanduser().resolve() if override else home() / "cache"


def runs_dir() -> Path:
    override = os.environ.get("TRANSFERLAB_RUNS")
    return Path(override).expanduser().resolve() if override else home() / "runs"


def package_dir(package: str) -> Path | None:
    """Where an installed package's files are (weights and sample data ship inside packages),
    found without importing it: some packages do heavy work at import time."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0])
