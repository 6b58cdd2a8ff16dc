"""What the commands share once their arguments are parsed: the JSON they print, the options given, and how a
long computation hears that it should stop."""

from __future__ import annotations

import json
import os
import signal
import threading


def as_json(value) -> str:
    """One JSON value for the output: names and texts in any script as they are, not \\u escapes."""
    return json.dumps(value, ensure_ascii=False)


def given(**values) -> dict:
    """The ``values`` that were given (not None): what a command passes on, leaving the rest to the defaults of
    the function it calls."""
    return {key: value for key, value in values.items() if value is not None}


def stop_on_signals(with_parent: bool = False):
    """Ctrl+C, a terminal closing, the app's server going away: finish the batch, keep the last
    checkpoint, and end as "interrupted" so the run can be resumed. Returns the should_stop check."""
    going_away = threading.Event()

    def on_signal(*_) -> None:
        if going_away.is_set():  # asked twice: stop now
            raise KeyboardInterrupt
        going_away.set()

    for number in (signal.SIGTERM, signal.SIGINT) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()):
        signal.signal(number, on_signal)
    parent = os.getppid()

    def should_stop() -> str | None:
        if going_away.is_set() or (with_parent and os.getppid() != parent):
            return "interrupted"
        return None

    return should_stop
