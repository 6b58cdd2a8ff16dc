"""Entry modules and plugins, shared by the registries (backbones, strategies, adaptation methods).

Each registry names its built-in entry modules and asks ``load`` for them on first use; then the
TRANSFERLAB_PLUGINS entries ("module" or "module:function", comma-separated) are imported and the
function called, once per process, in the app and in every training process it starts. A plugin
module may register backbones, strategies, or both.
"""

from __future__ import annotations

import importlib
import os

from core.errors import UserError
from core.i18n import lazy

_loaded: set[str] = set()


def load(built_in: tuple[str, ...]) -> None:
    """Import ``built_in`` (each once), then every TRANSFERLAB_PLUGINS entry (each once)."""
    for module in built_in:
        importlib.import_module(module)
    for entry in entries():
        if entry in _loaded:
            continue
        _loaded.add(entry)
        module, _, function = entry.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception as error:
            raise UserError(lazy("The plugin '{plugin}' (TRANSFERLAB_PLUGINS) failed to load: {error}.", plugin=entry,
                                 error=str(error)),
                            lazy("Fix the plugin or remove it from TRANSFERLAB_PLUGINS.")) from error


def entries() -> list[str]:
    return [e.strip() for e in os.environ.get("TRANSFERLAB_PLUGINS", "").split(",") if e.strip()]
