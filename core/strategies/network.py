"""The base of strategies that train a whole network on images or tokenised texts (fine-tuning, from
scratch), with the target's adaptation hooks when there is a target (core/adaptation/end_to_end.py)."""

from __future__ import annotations

from core.strategies import Strategy


class NetworkStrategy(Strategy):
    def fit(self, session) -> dict:
        from core.adaptation import end_to_end

        return end_to_end.fit_network(session)
