"""The translation catalogues, the ecosystem's way (Babel), in one command each:

    python scripts/catalog.py extract   # every marked sentence -> core/locales/transferlab.pot
    python scripts/catalog.py update    # the .pot merged into every core/locales/<lang>/.../transferlab.po
    python scripts/catalog.py init xx   # a new language's .po (then translate it: that is the whole job)
    python scripts/catalog.py compile   # .po -> .mo (the app also does this on first use)

The same as ``pybabel extract -F babel.cfg -k lazy -k lazy_ngettext:1,2 -o core/locales/transferlab.pot
app.py pages ui core``, ``pybabel update -i ... -d core/locales -D transferlab``, ``pybabel compile ...``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "core" / "locales"
POT = LOCALES / "transferlab.pot"
SOURCES = ["app.py", "pages", "ui", "core"]
KEYWORDS = ["-k", "lazy", "-k", "lazy_ngettext:1,2"]  # besides Babel's own _, ngettext, N_


def extract_catalog():
    """Every marked sentence in the code, as a Babel Catalog (for the tests: no files written)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file

    keywords = {**DEFAULT_KEYWORDS, "lazy": None, "lazy_ngettext": (1, 2)}
    catalog = Catalog(project="TransferLab", domain="transferlab")
    method_map = [("**.py", "python")]
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():
            found = ((source, *message) for message in extract_from_file("python", path, keywords=keywords))
            found = ((name, line, text, comments, context) for name, line, text, comments, context in found)
        else:
            found = ((f"{source}/{name}", line, text, comments, context) for name, line, text, comments, context
                     in extract_from_dir(path, method_map, keywords=keywords))
        for name, line, text, comments, context in found:
            catalog.add(text, None, [(name, line)], auto_comments=comments, context=context)
    return catalog


def _pybabel(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *arguments], cwd=ROOT, check=True)


def main(command: str, *rest: str) -> None:
    if command == "extract":
        _pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--no-wrap", "--sort-by-file", "-o", str(POT), *SOURCES)
    elif command == "update":
        _pybabel("update", "-i", str(POT), "-d", str(LOCALES), "-D", "transferlab", "--no-wrap")
    elif command == "init":
        _pybabel("init", "-i", str(POT), "-d", str(LOCALES), "-D", "transferlab", "-l", rest[0], "--no-wrap")
    elif command == "compile":
        _pybabel("compile", "-d", str(LOCALES), "-D", "transferlab", "--statistics")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["help"]))
