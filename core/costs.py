"""What a run's time includes: the one-time feature pass and the training, said the same way everywhere.

Feature extraction computes the frozen backbone's features once and caches them; a later run on the
same data and backbone reads them back in a second. Its time therefore depends on what ran before:
37 s the first time, 1 s when repeated. A time shown without saying which teaches the wrong lesson
("fine-tuning took 571x as long"), so every run's summary carries both (``ledger``), and every page,
the CLI and the Compare reading say them through ``of(row).words()`` and compare first times with
first times (``Cost.first_time``).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import _

NOTABLE = 0.2  # a feature pass under this share of the run's time (and under a second) is not worth a clause


def ledger(passes: list[dict], seconds: float) -> dict:
    """The summary fields of a run that took ``seconds`` and whose feature passes (loop.Session's
    ``feature_passes``: source and target) went as recorded."""
    if not passes:
        return {}
    now = sum(p["seconds"] for p in passes)
    firsts = [p["compute_seconds"] for p in passes]
    first = None if any(value is None for value in firsts) else sum(firsts)
    training = max(0.0, seconds - now)
    hit = all(p["cache_hit"] for p in passes)
    return {"cache_hit": hit, "feature_pass_seconds": round(now, 3),
            "feature_pass_first_seconds": None if first is None else round(first, 3),
            # from an empty cache: the pass computed; repeated: the features read back (what a hit took)
            "first_time_seconds": None if first is None else round(training + first, 3),
            "repeat_seconds": round(seconds if hit else training + _read_back(passes), 3)}


def _read_back(passes: list[dict]) -> float:
    """What reading the cached features back costs: measured where this run read them, else nearly nothing."""
    return sum(p["seconds"] for p in passes if p["cache_hit"])


@dataclass(frozen=True)
class Cost:
    seconds: float | None           # this run, as it happened
    first_time: float | None        # with the one-time feature pass computed (None: not recorded)
    repeated: float | None          # with the features read from the cache
    feature_pass: bool              # whether the run has a one-time feature pass at all
    cached: bool                    # this run read its features from the cache

    @property
    def like_for_like(self) -> float | None:
        """The time to compare across strategies: the first time (what it costs on new data)."""
        return self.first_time if self.first_time is not None else (None if self.cached else self.seconds)

    def words(self, short: bool = False) -> str:
        """'37 s the first time, 1.2 s when repeated', or '9 min 31 s' when there is no pass worth naming.
        ``short`` (table cells): '37 s (1.2 s repeated)'."""
        if self.seconds is None:
            return "–"
        if not self.feature_pass:
            return duration(self.seconds)
        if self.first_time is None:  # read from a cache older than the record of its pass
            if short:
                return _("{time} (cached features)", time=duration(self.seconds))
            return _("{time} (features from the cache; their first pass was not recorded)",
                     time=duration(self.seconds))
        if self.first_time - (self.repeated or 0) < max(1.0, NOTABLE * self.first_time):
            return duration(self.first_time)
        if short:
            return _("{first} ({repeated} repeated)", first=duration(self.first_time),
                     repeated=duration(self.repeated))
        return _("{first} the first time, {repeated} when repeated", first=duration(self.first_time),
                 repeated=duration(self.repeated))

    def explained(self) -> str:
        """One sentence on what the time includes (the Results page's help)."""
        if not self.feature_pass or self.first_time is None:
            return _("Wall time of the whole run: loading, training and scoring.")
        once, repeated = duration(self.first_time - (self.repeated or 0)), duration(self.repeated)
        if self.cached:
            return _("The first run on this data and backbone computes the backbone's features once ({once} here) "
                     "and caches them; a repeat (another head, learning rate or number of epochs) reads them back "
                     "and takes {repeated}. This run read them from the cache.", once=once, repeated=repeated)
        return _("The first run on this data and backbone computes the backbone's features once ({once} here) and "
                 "caches them; a repeat (another head, learning rate or number of epochs) reads them back and takes "
                 "{repeated}. This run computed them.", once=once, repeated=repeated)


def of(row: dict) -> Cost:
    """The cost of a run from its summary.json or its runs.describe() row (same keys)."""
    seconds = row.get("seconds")
    passed = row.get("feature_pass_seconds", row.get("feature_seconds"))  # feature_seconds: runs before the ledger
    cached = bool(row.get("cache_hit"))
    if passed is None:
        return Cost(seconds, seconds, seconds, False, False)
    first = row.get("first_time_seconds")
    if first is None and not cached and seconds is not None:  # an older run that computed its features
        first = seconds
    repeated = row.get("repeat_seconds")
    if repeated is None and seconds is not None:
        repeated = seconds if cached else max(0.0, seconds - passed)
    return Cost(seconds, first, repeated, True, cached)


def duration(seconds: float | None) -> str:
    """1.2 s, 37 s, 9 min 31 s, 1 h 5 min."""
    if seconds is None:
        return "–"
    if seconds < 9.95:
        return _("{seconds:.1f} s", seconds=seconds)
    if seconds < 59.5:
        return _("{seconds:.0f} s", seconds=seconds)
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return _("{minutes} min {seconds} s", minutes=minutes, seconds=rest) if rest else \
            _("{minutes} min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes} min", hours=hours, minutes=minutes) if minutes else _("{hours} h", hours=hours)
