"""The one exception type a person sees: what went wrong, in plain words, and how to fix it."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input (data, settings, missing weights), not a bug.

    Pages show it with ``st.error``; the CLI prints it on one line and exits non-zero.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()
