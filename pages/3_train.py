"""Train: hyperparameters in one form; runs queue and train in a child process; live charts, progress, stop.

The page never owns the job: it shows whichever run this session follows (or, in a fresh tab,
the one training now) from the run folder, so reloads and second tabs see it where it is.
"""

from pathlib import Path

import streamlit as st

from core import adaptation, backbones, jobs, paths, privacy, runs, strategies
from core.config import MAX_LR, TrainConfig
from ui import lr_finder, run_view, state
from ui.widgets import guarded, show_error

state.init()
st.title("3 · Train")
supervisor = jobs.supervisor()
report = st.session_state.report


def new_run_form() -> None:
    strategy, backbone = st.session_state.strategy, st.session_state.backbone
    learner = strategies.get(strategy)
    modality = report.modality
    spec = backbones.get(backbone)
    noun = "texts" if modality == "text" else "images"
    what = f" with **{spec.title}**" if learner.uses_backbone else ""
    st.markdown(f"**{learner.title}**{what} on **{report.num_items:,} {noun}** in {len(report.classes)} classes.")
    target = st.session_state.target
    if target is not None:
        method = adaptation.get(adaptation.resolve(st.session_state.adapt, learner, spec))
        st.caption(f"Target: **{target.name}** ({len(target.items):,} {noun}"
                   + (", scored with its labels" if target.labelled else ", unlabelled") + f"); adaptation: "
                   f"**{method.title}**.")
    private = not learner.fits_in_one_go and private_switch(learner, spec)
    remembered = st.session_state.setdefault("train_settings", {}).get(state.settings_key(modality, strategy), {})
    defaults = {**TrainConfig(data="").to_dict(), **learner.recipe(modality, private), **remembered}
    is_digits = str(st.session_state.data).startswith("sample:mnist")
    SCHEDULES = {"none": "constant", "step": "step decay (StepLR)", "linear": "linear warmup, then decay"}

    with st.form("hyperparameters"):
        settings = {}
        if learner.fits_in_one_go:
            st.caption(f"{learner.title} has no epochs or learning rate: it fits in one go, in seconds.")
        else:
            st.caption("Defaults follow the classic recipe for this strategy; change anything.")
            left, middle, right = st.columns(3)
            settings["epochs"] = left.number_input("Epochs (passes over the training data)", 1, 500, int(defaults["epochs"]))
            settings["batch_size"] = left.number_input("Batch size", 1, 1024, int(defaults["batch_size"]))
            settings["optimizer"] = middle.selectbox("Optimizer", ["adamw", "sgd"],
                                                     index=["adamw", "sgd"].index(defaults["optimizer"]),
                                                     help="SGD with momentum is the classic for fine-tuning images; "
                                                          "AdamW for heads and for transformers.")
            settings["lr"] = middle.number_input("Learning rate" + (" (backbone)" if learner.two_rates else ""),
                                                 1e-7, MAX_LR, float(defaults["lr"]), format="%.6f",
                                                 help="Too high and training diverges: the run then stops and "
                                                      "says so. Typical: 1e-4 to 1e-2.")
            settings["head_lr_multiplier"] = middle.number_input("Head learning rate = backbone's x", 1.0, 1000.0,
                                                                 float(defaults["head_lr_multiplier"]),
                                                                 disabled=not learner.two_rates)
            settings["weight_decay"] = middle.number_input("Weight decay", 0.0, 1.0, float(defaults["weight_decay"]),
                                                           format="%.5f",
                                                           help="Pulls weights towards zero: a gentle guard against overfitting.")
            settings["scheduler"] = right.selectbox("Learning-rate schedule", list(SCHEDULES),
                                                    index=list(SCHEDULES).index(defaults["scheduler"]),
                                                    format_func=SCHEDULES.get)
            settings["step_size"] = right.number_input("Step decay: every N epochs", 1, 100, int(defaults["step_size"]))
            settings["gamma"] = right.number_input("Step decay: multiply by", 0.01, 1.0, float(defaults["gamma"]))
            settings["warmup_fraction"] = right.number_input("Warmup: share of the steps", 0.0, 0.9,
                                                             float(defaults["warmup_fraction"]))
            settings["momentum"] = right.number_input("Momentum (SGD only)", 0.0, 0.999, float(defaults["momentum"]))
            if modality == "text":
                settings["max_length"] = left.number_input("Max length (tokens per text)", 8, spec.max_positions,
                                                           min(int(defaults["max_length"]), spec.max_positions),
                                                           help="Longer texts are cut here. See the histogram on the Data page.")
                settings["micro_batch_size"] = left.number_input(
                    "Micro batch (0 = off)", 0, 1024, 0 if private else int(defaults["micro_batch_size"]),
                    disabled=private,
                    help="When a batch does not fit in memory: process it in smaller pieces and add up their gradients."
                         + (" Not with private training: it clips whole batches." if private else ""))
                settings["head_dropout"] = left.number_input("Dropout before the head", 0.0, 0.9,
                                                             float(defaults["head_dropout"]))
            else:
                settings["augment"] = left.checkbox("Augment training images (random crops)", bool(defaults["augment"]),
                                                    disabled=learner.on_features,
                                                    help="Feature extraction uses cached features of the unaltered images.")
                settings["horizontal_flip"] = left.checkbox(
                    "Also mirror images left-right", bool(remembered.get("horizontal_flip", not is_digits)),
                    help="Off for digits: a mirrored 3 is not a 3. With feature extraction: for its augmented views.")
                if learner.on_features:
                    with_target = st.session_state.target is not None
                    settings["augmented_views"] = left.number_input(
                        "Augmented views per image", 0, 20, 0 if with_target else int(defaults["augmented_views"]),
                        disabled=with_target,
                        help="0: the head learns from the features of the unaltered images (fastest). K: K randomly "
                             "cropped (and mirrored, if on) copies of every training image also go through the "
                             "backbone, once (K more passes over the training images, cached for the next run), "
                             "and every epoch draws one version of each image: augmentation's benefit, paid once."
                             + (" Not used with a target yet." if with_target else ""))
                settings["train_batchnorm"] = left.checkbox(
                    "Also update BatchNorm statistics", bool(defaults["train_batchnorm"]) and not private,
                    disabled=not learner.two_rates or private,
                    help="Off (recommended on small data): BatchNorm layers keep the averages learned in "
                         "pretraining. Re-estimating them from small batches can make validation accuracy collapse.")
            if "unfreeze_stages" in learner.recipe(modality):  # gradual unfreezing
                settings["unfreeze_stages"] = middle.number_input(
                    "Unfreezing stages", 2, 50, int(defaults["unfreeze_stages"]),
                    help="Stage 1: the head alone; each later stage unfreezes the next part of the backbone, from the "
                         "top down (the backbone is cut into stages - 1 parts).")
                settings["unfreeze_every"] = middle.number_input("Epochs per stage", 1, 100,
                                                                 int(defaults["unfreeze_every"]))
                settings["lr_decay"] = middle.number_input(
                    "Each part down learns slower by", 1.0, 100.0, float(defaults["lr_decay"]),
                    help="Discriminative learning rates: the top part at the learning rate, the part below at it "
                         "divided by this, and so on (ULMFiT's 2.6). The stages show on the live chart.")
            settings["patience"] = right.number_input(
                "Early stopping: patience (epochs, 0 = off)", 0, 1000, int(defaults["patience"]),
                help="Stop when the validation loss has not improved for this many epochs: further epochs would "
                     "mostly memorise the training data. The best weights are kept either way.")
            settings["seed"] = right.number_input("Seed", 0, 1_000_000, int(defaults["seed"]))
            if private:
                settings.update(private_settings(defaults, learner))
        ahead = supervisor.preparation(state.next_run_config())
        if learner.on_features and ahead is not None and ahead.state in ("loading", "computing"):
            st.caption(f"The {ahead.title} features of this data are being computed in the background"
                       + (f" ({ahead.done:,} of {ahead.total:,} when this page was drawn)" if ahead.total else "")
                       + ": a run started now goes on from there.")
        busy = supervisor.queue()
        if busy:
            st.caption(f"{len(busy)} run(s) ahead in line: this one will start when they end (one at a time "
                       "keeps each one fast).")
        submitted = st.form_submit_button("Start training", key="start_training", type="primary",
                                          icon=":material/play_arrow:")

    if not learner.fits_in_one_go:
        computing = learner.on_features and ahead is not None and ahead.busy
        lr_finder.section(state.next_run_config(), learner.on_features,
                          lambda rate: st.session_state.train_settings.setdefault(
                              state.settings_key(modality, strategy), {}).update(lr=rate),
                          waiting="Available once the features being computed in the background are ready (the "
                                  "sidebar shows how far)." if computing else None)

    if submitted:
        st.session_state.train_settings[state.settings_key(modality, strategy)] = settings
        try:
            target = st.session_state.target_source if st.session_state.target is not None else None
            config = TrainConfig.for_strategy(st.session_state.data, strategy, backbone=backbone,
                                              val_fraction=st.session_state.val_fraction, target=target,
                                              adapt=st.session_state.adapt if target else None,
                                              **report.reading(), **settings)
            st.session_state.run_dir = str(jobs.submit(config).dir)
            st.rerun()  # draw the page again with the live view ticking
        except Exception as error:
            show_error(error)


def private_switch(learner: strategies.Strategy, spec: backbones.BackboneSpec) -> bool:
    """The switch for private training, above the form (its recipe differs, so the form follows it); off
    and greyed where the run could not be private, saying why."""
    target = st.session_state.target
    adapted = target is not None and adaptation.resolve(st.session_state.adapt, learner, spec) != "none"
    why_not = ("Not with domain adaptation yet (its maps are fitted on the training data outside the privacy "
               "budget): choose 'none' under Domain adaptation on the Model page." if adapted else
               None if learner.private_ok else f"{learner.title} does not train privately yet: pick feature "
               "extraction or fine-tuning on the Model page.")
    if why_not:
        st.session_state.private_training = False
    st.session_state.private_toggle = st.session_state.private_training
    st.toggle("Private training (differential privacy)", key="private_toggle", disabled=bool(why_not),
              on_change=lambda: st.session_state.update(private_training=st.session_state.private_toggle),
              help="DP-SGD: every step clips each example's influence and adds noise, so the model cannot "
                   "memorise any one example. " + privacy.EXPLANATION + (f" {why_not}" if why_not else ""))
    return st.session_state.private_training


def private_settings(defaults: dict, learner: strategies.Strategy) -> dict:
    """The private-training fields of the form, and what they mean here."""
    st.markdown("**Private training**")
    left, right = st.columns(2)
    chosen = {"dp_epsilon": left.number_input("Privacy budget ε (epsilon)", 0.1, 100.0,
                                              float(defaults.get("dp_epsilon") or privacy.DEFAULT_EPSILON), step=0.5,
                                              help=privacy.EXPLANATION),
              "dp_max_grad_norm": right.number_input("Clip each example's gradient to norm", 0.01, 100.0,
                                                     float(defaults["dp_max_grad_norm"]),
                                                     help="Each example's gradient is scaled down to at most this "
                                                          "length before the batch's are added up; the noise is "
                                                          "scaled to it. 1 is the usual choice.")}
    frozen = "" if learner.on_features else " BatchNorm layers stay as pretrained (a batch's statistics mix its examples)."
    st.caption(f"{privacy.EXPLANATION} The guarantee holds with δ = 1/{len(report.train):,} (one in the number of "
               "training examples) and covers the training examples; the noise needed for that budget over the "
               "epochs set above is worked out before training, and the run reports the budget it spent (early "
               "stopping can leave some unspent). The noise drowns small steps: the private recipe starts at a "
               f"higher learning rate.{frozen}")
    return chosen


def followed_run() -> runs.Run | None:
    """The run this session started or opened; in a fresh tab, the one training (or waiting) now."""
    chosen = st.session_state.run_dir
    if chosen and Path(chosen).is_dir():
        return runs.Run(Path(chosen))
    line = supervisor.queue()
    if line:
        st.session_state.run_dir = str(line[0].dir)
        return line[0]
    latest = runs.list_runs(paths.runs_dir())[:1]
    if latest and latest[0].status == "interrupted":  # the app restarted mid-run: offer to resume it
        st.session_state.run_dir = str(latest[0].dir)
        return latest[0]
    return None


run = followed_run()
if report is not None:
    # While a run trains, its charts come first and the settings fold away (a click opens them).
    with st.expander("Settings for a new run", expanded=run is None or not run_view.is_live(run),
                     icon=":material/tune:"):
        new_run_form()
else:
    st.info("Load a dataset to start a new run: the bundled sample is one click away.")
    st.page_link("pages/1_data.py", label="Go to Data", icon=":material/folder_open:")

if run is None:
    if report is not None:
        st.info("Press **Start training**: charts appear here and update while the model learns.")
    st.stop()
st.subheader(f"Run `{run.id}`")
ticking = run_view.is_live(run)


@st.fragment(run_every=1.0 if ticking else None)
@guarded
def live_view() -> None:
    # Fixed slots, created in the same order on every run: the element positions never shift between
    # "queued", "running" and "finished", so the full rerun at the end replaces them, no ghosts.
    banner, controls, notices, numbers, curves, line, footer = (st.empty() for _ in range(7))
    if not run.dir.is_dir():
        banner.info("This run was deleted.")
        return
    view = run_view.follow(run)
    run_view.status_line(run, view, banner, controls, key="training")
    if view.notices:
        notices.info("  \n".join(view.notices), icon=":material/info:")
    if view.history:
        with numbers.container():
            run_view.epoch_numbers(view)
        run_view.show_curves(view, curves, key="training")
    elif view.status == "running":
        numbers.caption("The curves appear after the first epoch.")
    waiting = [r for r in supervisor.queue() if r.dir != run.dir]
    if waiting:
        line.caption("Also in line: " + ", ".join(f"`{r.id}` ({r.status})" for r in waiting))
    if ticking and view.status not in ("queued", "running"):
        st.rerun()  # the whole page: stops this timer, shows the final state
    if view.status in ("finished", "stopped") and view.history:
        footer.page_link("pages/4_results.py", label="See the results", icon=":material/arrow_forward:")


live_view()
