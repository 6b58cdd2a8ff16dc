"""The Train page's learning-rate finder: `python -m core lr-find --config ... --json` in a child process
(never on the script thread: a fine-tuning test takes minutes on a laptop), followed by a fragment that
shows its steps, then the curve, the suggestion, and a button that puts it in the form."""

from __future__ import annotations

import json

import streamlit as st

from core import i18n
from core.config import TrainConfig
from core.i18n import _
from ui import charts, child
from ui.terms import help_for

KEY = "lr_find"


def steps_for(on_features: bool) -> int:
    return 100 if on_features else 40  # a head on cached features: instant; a whole network: N real batches


# What the range test does not depend on: the rate it is there to choose, how long and on what schedule a run
# would train, where it is kept, and the target (the test trains on the source alone). A run started with the
# same settings leaves the test's suggestion standing.
NOT_TESTED = {"lr", "epochs", "scheduler", "step_size", "gamma", "warmup_fraction", "patience", "target", "adapt",
              "group", "out_dir", "cache_dir"}


def _settings_key(config: TrainConfig) -> str:
    """What the test depends on (numbers compared as numbers: a remembered 32.0 is the recipe's 32)."""
    return json.dumps({k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                       for k, v in config.to_dict().items() if k not in NOT_TESTED}, sort_keys=True)


def _start(config: TrainConfig, steps: int) -> None:
    st.session_state[KEY] = child.start(["lr-find", "--config", "{config.json}", "--steps", str(steps), "--json"],
                                        "lr-find", {"config.json": json.dumps(config.to_dict())},
                                        key=_settings_key(config), steps=steps)


def _progress(found: dict) -> int:
    """Steps done so far (the child prints "step k/N" on stderr)."""
    counted = child.last_count(found, "step")
    return counted[0] if counted else 0


def section(config: TrainConfig | None, on_features: bool, remember_lr, waiting: str | None = None) -> None:
    """The finder under the form: ``config`` the settings it tests (None: none usable now); ``remember_lr``
    puts a rate into the form; ``waiting``: why it cannot start yet (the features are still being computed)."""
    st.markdown(_("**Find a learning rate**"))
    steps = steps_for(on_features)
    test = _("The range test: a copy of the model trains for {steps} steps while the learning rate grows from 1e-7 "
             "to 10, and the loss is drawn against the rate. Learning is fastest where the loss falls most steeply: "
             "that rate is suggested. Your settings' batch size, optimizer and seed are used (those of the last run "
             "started here, else the recipe's); nothing is saved and no run is made.", steps=steps)
    st.caption(test if on_features else i18n.join(test, _("On a CPU this takes about as long as {steps} training "
                                                           "batches.", steps=steps)))
    if config is None:
        st.caption(_("Load data and pick a strategy that trains a network to use it."))
        return
    if config.dp_epsilon is not None:
        st.caption(_("With private training on, the range test still trains without clipping or noise: its "
                     "suggestion is for ordinary training, and private training usually wants a higher rate."))
    key = _settings_key(config)
    found = st.session_state.get(KEY)
    if waiting:
        st.caption(waiting)
    if st.button(_("Find a learning rate"), key="find_lr", icon=":material/query_stats:",
                 disabled=bool(waiting) or child.running(found), help=help_for("learning_rate_finder")):
        _start(config, steps)
        found = st.session_state[KEY]
    if not found:
        return

    @st.fragment(run_every=1.0 if found["process"] is not None else None)
    def follow() -> None:
        child.settle(found, _("the test"))
        if found["process"] is not None:
            done = _progress(found)
            st.progress(done / found["steps"], text=_("Range test: step {done} of {steps}", done=done,
                                                       steps=found["steps"]) if done else
                        _("Range test: loading the model and the data..."))
            return
        if found["error"]:
            st.error(_("The range test did not finish: {error}", error=found["error"]), icon=":material/error:")
            return
        result = found["result"]
        st.plotly_chart(charts.lr_range(result["rates"], result["losses"], result["suggested_lr"], config.lr),
                        key="lr_range_chart")
        stale = found["key"] != key
        suggested = result["suggested_lr"]
        if suggested:
            line = _("Suggested learning rate: **{rate:.1e}** (now {now:.1e}).", rate=suggested, now=config.lr)
            st.markdown(i18n.join(line, _("The settings changed since this test: run it again.") if stale else None))
            if st.button(_("Use {rate:.1e}", rate=suggested), key="use_suggested_lr", disabled=stale):
                remember_lr(suggested)
                st.rerun()  # the whole page: the form shows the new rate
        else:
            st.markdown(_("No suggestion: the loss never fell over the range (try again with a larger batch, or "
                          "keep the recipe's rate)."))

    follow()
