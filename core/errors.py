"""The one exception type a person sees: what went wrong, in plain words, and how to fix it."""

from __future__ import annotations

from typing import Any

from core.i18n import Text, for_event, join, render  # noqa: F401  (Text: the type of message and hint)


class UserError(Exception):
    """A problem with the user's input (data, settings, missing weights), not a bug.

    ``message`` and ``hint`` are ``lazy(...)`` Texts (core/i18n.py): read, they speak the reader's language,
    so an error raised in a training process is shown on the page in the page's language. Pages show it
    with ``st.error``; the CLI prints it on one line and exits non-zero.
    """

    def __init__(self, message: str | Text, hint: str | Text = "") -> None:
        super().__init__(message)
        self._message, self._hint = message, hint

    @property
    def message(self) -> str:
        return render(self._message)

    @property
    def hint(self) -> str:
        return render(self._hint)

    def __str__(self) -> str:
        return join(self.message, self.hint)

    def to_event(self) -> dict[str, Any]:
        """The ``error`` event's fields: the whole sentence, translated when read."""
        return for_event([self._message, self._hint])
