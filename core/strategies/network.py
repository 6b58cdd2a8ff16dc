"""The base of strategies that train a whole network on images or tokenised texts (fine-tuning, from
scratch). Without a target the network trains on its own (core/loop.py); with one, the run's adaptation
method joins the training or follows it (core/adaptation/end_to_end.py)."""

from __future__ import annotations

from core.strategies import Strategy


class NetworkStrategy(Strategy):
    def fit(self, session) -> dict:
        if session.target is None:
            from core import loop

            return loop.fit_end_to_end(session)[0]
        from core.adaptation import end_to_end

        return end_to_end.fit_network(session)
