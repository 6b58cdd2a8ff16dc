"""``python -m core``: TransferLab's command line (core/cli/), also how the app starts its training children and
warm workers (``python -m core train --run DIR``, ``python -m core worker``)."""

from core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
