"""A feature pass over both domains (the training data, then the target), shown on a progress bar: the Data
page's domain gap and the Model page's choice of adaptation both compute one."""

from __future__ import annotations

from typing import Callable

from core.i18n import _


def both_domains_progress(bar) -> Callable[[int, int, int], None]:
    """A progress callback ``(index, done, total)`` for a feature pass over the training data (index 0), then
    the target (1), shown on the progress ``bar``."""
    def progress(index: int, done: int, total: int) -> None:
        text = _("Computing features of the training data: {done}/{total}", done=done, total=total) if index == 0 \
            else _("Computing features of the target: {done}/{total}", done=done, total=total)
        bar.progress(min(done / max(total, 1), 1.0), text=text)

    return progress
