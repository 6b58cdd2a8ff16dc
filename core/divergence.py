"""Telling a training run that goes nowhere from one that learns, and saying what to change."""

from __future__ import annotations

import math

from core.errors import UserError
from core.i18n import Text, lazy


class Divergence:
    """Tells a run that is going nowhere from one that learns: the loss is not a number, or the
    training loss ends an epoch far above where it started (10x in one epoch, or 1.5x for three in
    a row). Seen with lr 5 on the small CNN: 2.3 at the first batch, 666,836 after epoch 1, then
    stuck at chance (10%) for good. Raises a UserError that says what to change."""

    EXPLODED, HIGH, PATIENCE = 10.0, 1.5, 3

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.start_loss: float | None = None     # the first batch's loss, before any update
        self.high_epochs = 0

    def check_batch(self, loss: float, epoch: int) -> None:
        if not math.isfinite(loss):
            self._diverged(lazy("Training diverged in epoch {epoch}: the loss became {loss}. The learning rate "
                                "({lr:g}) is too high for this model and data, so each step overshoots and the model "
                                "learns nothing.", epoch=epoch, loss=str(loss), lr=self.lr))
        if self.start_loss is None:
            self.start_loss = loss

    def check_epoch(self, train_loss: float, epoch: int) -> None:
        if self.start_loss is None or self.start_loss <= 0:
            return
        ratio = train_loss / self.start_loss
        self.high_epochs = self.high_epochs + 1 if ratio > self.HIGH else 0
        numbers = dict(epoch=epoch, start=self.start_loss, end=train_loss, lr=self.lr)
        if ratio > self.EXPLODED:
            self._diverged(lazy("Training diverged in epoch {epoch}: the training loss rose from {start:.3g} at the "
                                "start to {end:.3g}. The learning rate ({lr:g}) is too high for this model and data, "
                                "so each step overshoots and the model learns nothing.", **numbers))
        elif self.high_epochs >= self.PATIENCE:
            self._diverged(lazy("Training diverged in epoch {epoch}: the training loss rose from {start:.3g} at the "
                                "start to {end:.3g} ({count} epochs in a row above the start). The learning rate ({lr:g}) "
                                "is too high for this model and data, so each step overshoots and the model learns "
                                "nothing.", count=self.high_epochs, **numbers))

    def _diverged(self, what: Text) -> None:
        raise UserError(what, lazy("Lower the learning rate about 10x (to {lower:g}) and start again; if it still "
                                   "diverges, lower it again.", lower=self.lr / 10))
