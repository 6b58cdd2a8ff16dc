"""Train: hyperparameters in one form; runs queue and train in a child process; live charts, progress, stop.

The page never owns the job: it shows whichever run this session follows (or, in a fresh tab,
the one training now) from the run folder, so reloads and second tabs see it where it is.
"""

import hashlib

import streamlit as st

from core import adaptation, backbones, i18n, jobs, privacy, runs, strategies
from core.config import MAX_LR, TrainConfig
from core.i18n import N_, _, ngettext
from ui import lr_finder, run_view, session_status, state
from ui.terms import help_for
from ui.widgets import guarded, show_error

state.init()
st.title(_("3 · Train"))
supervisor = jobs.supervisor()
report = st.session_state.report
status = session_status.current()  # the one reading the sidebar shows too


SCHEDULES = {"none": N_("constant"), "step": N_("step decay (StepLR)"), "linear": N_("linear warmup, then decay")}
OPTIMIZERS = ["adamw", "sgd"]  # codes; shown by their names
OPTIMIZER_NAMES = {"adamw": N_("AdamW"), "sgd": N_("SGD with momentum")}


def field_key(name: str, *shown) -> str:
    """A form field's widget key: the same in every language, and new when what the field starts from changes
    (another recipe, private training, a rate from the finder), so that the field then shows it, as a widget
    without a key did (Streamlit knows a keyed widget by its key alone)."""
    return f"train_{name}_" + hashlib.sha1(repr(shown).encode()).hexdigest()[:12]


def paragraphs(*texts: str | None) -> str:
    """Help texts of their own, one paragraph each (a tooltip's markdown)."""
    return "\n\n".join(text for text in texts if text)


def new_run_form() -> None:
    """The settings of a new run (one form: one submit gives one config), the learning-rate finder under it."""
    strategy, backbone = st.session_state.strategy, st.session_state.backbone
    learner, spec, modality = strategies.get(strategy), backbones.get(backbone), report.modality
    st.markdown(what_trains(learner, spec, modality))
    target = st.session_state.target
    if target is not None:
        method = adaptation.title(adaptation.resolve(st.session_state.adapt, learner, spec))
        if st.session_state.private_training and not learner.fits_in_one_go:
            method = _("none: a private run is not adapted")
        st.caption(target_line(target, modality, method))
    private = not learner.fits_in_one_go and private_switch(learner, spec)
    remembered = st.session_state.setdefault("train_settings", {}).get(state.settings_key(modality, strategy), {})
    defaults = {**TrainConfig(data="").to_dict(), **learner.recipe(modality, private), **remembered}

    with st.form("hyperparameters", enter_to_submit=False):  # Enter in a field must not start a run
        if learner.fits_in_one_go:
            settings = {}
            st.caption(_("{strategy} has no epochs or learning rate: it fits in one go, in seconds.",
                         strategy=learner.title))
        else:
            st.caption(_("Defaults follow the classic recipe for this strategy; change anything."))
            settings = training_fields(learner, spec, modality, defaults, remembered, private)
        submitted = form_footer(learner)

    if not learner.fits_in_one_go:
        lr_finder.section(state.next_run_config(), learner.on_features,
                          lambda rate: st.session_state.train_settings.setdefault(
                              state.settings_key(modality, strategy), {}).update(lr=rate),
                          waiting=_("Available once the features being computed in the background are ready (the "
                                    "sidebar shows how far).") if learner.on_features and status.busy else None)
    if submitted:
        start_run(settings)


def training_fields(learner: strategies.Strategy, spec: backbones.BackboneSpec, modality: str, defaults: dict,
                    remembered: dict, private: bool) -> dict:
    """The form's fields for a strategy that trains by steps, in three columns; the settings they give."""
    left, middle, right = st.columns(3)
    settings = optimizer_fields(left, middle, right, defaults, learner)
    if modality == "text":
        settings.update(text_fields(left, defaults, spec, private))
    else:
        settings.update(image_fields(left, defaults, remembered, learner, private))
    if "unfreeze_stages" in learner.recipe(modality):  # gradual unfreezing
        settings.update(unfreezing_fields(middle, defaults))
    settings.update(stopping_fields(right, defaults))
    if private:
        settings.update(private_settings(defaults, learner))
    return settings


def optimizer_fields(left, middle, right, defaults: dict, learner: strategies.Strategy) -> dict:
    """Epochs and batch size (left), the optimizer and its rates (middle), the schedule (right)."""
    settings = {}
    value = int(defaults["epochs"])
    settings["epochs"] = left.number_input(_("Epochs (passes over the training data)"), 1, 500, value,
                                           key=field_key("epochs", value), help=help_for("epoch"))
    value = int(defaults["batch_size"])
    settings["batch_size"] = left.number_input(_("Batch size"), 1, 1024, value, key=field_key("batch_size", value),
                                               help=help_for("batch_size"))
    value = OPTIMIZERS.index(defaults["optimizer"])
    settings["optimizer"] = middle.selectbox(_("Optimizer"), OPTIMIZERS, index=value, key=field_key("optimizer", value),
                                             format_func=lambda code: _(OPTIMIZER_NAMES[code]),
                                             help=_("SGD with momentum is the classic for fine-tuning images; AdamW "
                                                    "for heads and for transformers."))
    value = float(defaults["lr"])
    settings["lr"] = middle.number_input(_("Learning rate (backbone)") if learner.two_rates else _("Learning rate"),
                                         1e-7, MAX_LR, value, format="%.2e", key=field_key("lr", value),
                                         help=paragraphs(help_for("learning_rate"), _(
                                             "Too high and training diverges: the run then stops and says so. "
                                             "Typical: 1e-4 to 1e-2.")))
    value = float(defaults["head_lr_multiplier"])
    settings["head_lr_multiplier"] = middle.number_input(_("Head learning rate = backbone's x"), 1.0, 1000.0, value,
                                                         disabled=not learner.two_rates,
                                                         key=field_key("head_lr_multiplier", value))
    value = float(defaults["weight_decay"])
    settings["weight_decay"] = middle.number_input(_("Weight decay"), 0.0, 1.0, value, format="%.5f",
                                                   key=field_key("weight_decay", value),
                                                   help=_("Pulls weights towards zero: a gentle guard against "
                                                          "overfitting."))
    settings.update(schedule_fields(right, defaults))
    return settings


def schedule_fields(right, defaults: dict) -> dict:
    """The learning-rate schedule and SGD's momentum."""
    settings = {}
    value = list(SCHEDULES).index(defaults["scheduler"])
    settings["scheduler"] = right.selectbox(_("Learning-rate schedule"), list(SCHEDULES), index=value,
                                            key=field_key("scheduler", value),
                                            format_func=lambda code: _(SCHEDULES[code]))
    value = int(defaults["step_size"])
    settings["step_size"] = right.number_input(_("Step decay: every N epochs"), 1, 100, value,
                                               key=field_key("step_size", value))
    value = float(defaults["gamma"])
    settings["gamma"] = right.number_input(_("Step decay: multiply by"), 0.01, 1.0, value, key=field_key("gamma", value))
    value = float(defaults["warmup_fraction"])
    settings["warmup_fraction"] = right.number_input(_("Warmup: share of the steps"), 0.0, 0.9, value,
                                                     key=field_key("warmup_fraction", value))
    value = float(defaults["momentum"])
    settings["momentum"] = right.number_input(_("Momentum (SGD only)"), 0.0, 0.999, value,
                                              key=field_key("momentum", value))
    return settings


def text_fields(left, defaults: dict, spec: backbones.BackboneSpec, private: bool) -> dict:
    """Texts: how much of each is read, micro-batches, dropout before the head."""
    settings = {}
    value = min(int(defaults["max_length"]), spec.max_positions)
    settings["max_length"] = left.number_input(_("Max length (tokens per text)"), 8, spec.max_positions, value,
                                               key=field_key("max_length", value, spec.max_positions),
                                               help=_("Longer texts are cut here. See the histogram on the Data "
                                                      "page."))
    value = 0 if private else int(defaults["micro_batch_size"])
    settings["micro_batch_size"] = left.number_input(
        _("Micro batch (0 = off)"), 0, 1024, value, disabled=private, key=field_key("micro_batch_size", value),
        help=paragraphs(_("When a batch does not fit in memory: process it in smaller pieces and add up their "
                          "gradients."), _("Not with private training: it clips whole batches.") if private else None))
    value = float(defaults["head_dropout"])
    settings["head_dropout"] = left.number_input(_("Dropout before the head"), 0.0, 0.9, value,
                                                 key=field_key("head_dropout", value))
    return settings


def image_fields(left, defaults: dict, remembered: dict, learner: strategies.Strategy, private: bool) -> dict:
    """Images: augmentation (and feature extraction's augmented views), BatchNorm statistics."""
    settings = {}
    value = bool(defaults["augment"])
    settings["augment"] = left.checkbox(_("Augment training images (random crops)"), value,
                                        disabled=learner.on_features, key=field_key("augment", value),
                                        help=paragraphs(help_for("augmentation"), _(
                                            "Feature extraction uses cached features of the unaltered images.")))
    is_digits = str(st.session_state.data).startswith("sample:mnist")
    value = bool(remembered.get("horizontal_flip", not is_digits))
    settings["horizontal_flip"] = left.checkbox(
        _("Also mirror images left-right"), value, key=field_key("horizontal_flip", value),
        help=_("Off for digits: a mirrored 3 is not a 3. With feature extraction: for its augmented views."))
    if learner.on_features:
        settings["augmented_views"] = views_field(left, defaults)
    value = bool(defaults["train_batchnorm"]) and not private
    settings["train_batchnorm"] = left.checkbox(
        _("Also update BatchNorm statistics"), value, disabled=not learner.two_rates or private,
        key=field_key("train_batchnorm", value),
        help=_("Off (recommended on small data): BatchNorm layers keep the averages learned in pretraining. "
               "Re-estimating them from small batches can make validation accuracy collapse."))
    return settings


def views_field(left, defaults: dict) -> int:
    """Feature extraction on images: how many augmented copies of each training image are featurised once."""
    with_target = st.session_state.target is not None
    value = 0 if with_target else int(defaults["augmented_views"])
    return left.number_input(
        _("Augmented views per image"), 0, 20, value, disabled=with_target, key=field_key("augmented_views", value),
        help=paragraphs(_("0: the head learns from the features of the unaltered images (fastest). K: K randomly "
                          "cropped (and mirrored, if on) copies of every training image also go through the "
                          "backbone, once (K more passes over the training images, cached for the next run), and "
                          "every epoch draws one version of each image: augmentation's benefit, paid once."),
                        _("Not used with a target yet.") if with_target else None))


def unfreezing_fields(middle, defaults: dict) -> dict:
    """Gradual unfreezing: its stages and discriminative learning rates."""
    settings = {}
    value = int(defaults["unfreeze_stages"])
    settings["unfreeze_stages"] = middle.number_input(
        _("Unfreezing stages"), 2, 50, value, key=field_key("unfreeze_stages", value),
        help=paragraphs(help_for("gradual_unfreezing"), _(
            "Stage 1: the head alone; each later stage unfreezes the next part of the backbone, from the top down "
            "(the backbone is cut into stages - 1 parts).")))
    value = int(defaults["unfreeze_every"])
    settings["unfreeze_every"] = middle.number_input(_("Epochs per stage"), 1, 100, value,
                                                     key=field_key("unfreeze_every", value))
    value = float(defaults["lr_decay"])
    settings["lr_decay"] = middle.number_input(
        _("Each part down learns slower by"), 1.0, 100.0, value, key=field_key("lr_decay", value),
        help=_("Discriminative learning rates: the top part at the learning rate, the part below at it divided by "
               "this, and so on (ULMFiT's 2.6). The stages show on the live chart."))
    return settings


def stopping_fields(right, defaults: dict) -> dict:
    """Early stopping and the seed."""
    value = int(defaults["patience"])
    patience = right.number_input(
        _("Early stopping: patience (epochs, 0 = off)"), 0, 1000, value, key=field_key("patience", value),
        help=paragraphs(help_for("early_stopping"), _(
            "Stop when the validation loss has not improved for this many epochs: further epochs would mostly "
            "memorise the training data. The best weights are kept either way.")))
    value = int(defaults["seed"])
    seed = right.number_input(_("Seed"), 0, 1_000_000, value, key=field_key("seed", value),
                              help=_("The starting point of every random choice (the split, the shuffling, the new "
                                     "head's weights): the same seed and settings train the same model again."))
    value = int(defaults.get("per_class") or 0)
    per_class = right.number_input(
        _("Training examples per class (0 = all)"), 0, 100_000, value, key=field_key("per_class", value),
        help=_("Train on at most this many examples of each class, the same ones for the same seed; validation "
               "stays whole. How a model does with little data (the data-efficiency curve runs these)."))
    return {"patience": patience, "seed": seed, "per_class": per_class or None}


def form_footer(learner: strategies.Strategy) -> bool:
    """The form's last lines: the background pass of the features (as the sidebar says it), the queue, and
    Start. True when Start was pressed."""
    if learner.on_features and status.busy:
        st.caption(_("The {backbone} features of this data are being computed in the background: a run started "
                     "now goes on from there.", backbone=status.backbone_title))
    busy = supervisor.queue()
    if busy:
        st.caption(ngettext("{n} run ahead in line: this one will start when it ends (one at a time keeps each "
                            "one fast).", "{n} runs ahead in line: this one will start when they end (one at "
                            "a time keeps each one fast).", len(busy)))
    return st.form_submit_button(_("Start training"), key="start_training", type="primary",
                                 icon=":material/play_arrow:")


def start_run(settings: dict) -> None:
    """Queue a run of the form's ``settings`` (remembered for the next visit) and follow it."""
    strategy = st.session_state.strategy
    st.session_state.train_settings[state.settings_key(report.modality, strategy)] = settings
    try:
        target = st.session_state.target_source if st.session_state.target is not None else None
        config = TrainConfig.for_strategy(st.session_state.data, strategy, backbone=st.session_state.backbone,
                                          val_fraction=st.session_state.val_fraction, target=target,
                                          adapt=st.session_state.adapt if target else None,
                                          **report.read_settings(), **settings)
        st.session_state.run_dir = st.session_state.own_run = str(jobs.submit(config).dir)
        st.rerun()  # draw the page again with the live view ticking
    except Exception as error:
        show_error(error)


def what_trains(learner: strategies.Strategy, spec: backbones.BackboneSpec, modality: str) -> str:
    """The form's first line: what will learn from how much data (a whole sentence for each case)."""
    values = {"strategy": learner.title, "backbone": spec.display_title, "items": report.num_items,
              "classes": len(report.classes)}
    if learner.uses_backbone:
        if modality == "text":
            return _("**{strategy}** with **{backbone}** on **{items:,} texts** in {classes} classes.", **values)
        return _("**{strategy}** with **{backbone}** on **{items:,} images** in {classes} classes.", **values)
    if modality == "text":
        return _("**{strategy}** on **{items:,} texts** in {classes} classes.", **values)
    return _("**{strategy}** on **{items:,} images** in {classes} classes.", **values)


def target_line(target, modality: str, method: str) -> str:
    """Where the model will be used, and how it adapts (a whole sentence for each case)."""
    count = len(target.items)
    if modality == "text":
        if target.labelled:
            return ngettext("Target: **{name}** ({n:,} text, scored with its labels); adaptation: **{method}**.",
                            "Target: **{name}** ({n:,} texts, scored with its labels); adaptation: **{method}**.",
                            count, name=state.target_name(), method=method)
        return ngettext("Target: **{name}** ({n:,} text, unlabelled); adaptation: **{method}**.",
                        "Target: **{name}** ({n:,} texts, unlabelled); adaptation: **{method}**.",
                        count, name=state.target_name(), method=method)
    if target.labelled:
        return ngettext("Target: **{name}** ({n:,} image, scored with its labels); adaptation: **{method}**.",
                        "Target: **{name}** ({n:,} images, scored with its labels); adaptation: **{method}**.",
                        count, name=state.target_name(), method=method)
    return ngettext("Target: **{name}** ({n:,} image, unlabelled); adaptation: **{method}**.",
                    "Target: **{name}** ({n:,} images, unlabelled); adaptation: **{method}**.",
                    count, name=state.target_name(), method=method)


def private_switch(learner: strategies.Strategy, spec: backbones.BackboneSpec) -> bool:
    """The switch for private training, above the form (its recipe differs, so the form follows it); off
    and greyed where the run could not be private, saying why beside it."""
    why_not = why_not_private(learner, spec)
    if why_not and st.session_state.private_training:
        st.session_state.private_training = False
        st.rerun()  # the whole app: the sidebar was drawn for a private run
    st.session_state.private_toggle = st.session_state.private_training
    st.toggle(_("Private training (differential privacy)"), key="private_toggle", disabled=bool(why_not),
              on_change=lambda: st.session_state.update(private_training=st.session_state.private_toggle),
              help=paragraphs(help_for("differential_privacy"),
                              _("DP-SGD: every step clips each example's influence and adds noise, so the model "
                                "cannot memorise any one example."), privacy.explanation(), why_not))
    if why_not:
        st.caption(why_not)
    elif st.session_state.private_training and st.session_state.target is not None:
        st.info(_("A private run is not adapted to the target **{target}** (adaptation would learn from the data "
                  "outside the privacy guarantee): it is scored there as it is, without adaptation.",
                  target=state.target_name()), icon=":material/info:")
    return st.session_state.private_training


def why_not_private(learner: strategies.Strategy, spec: backbones.BackboneSpec) -> str | None:
    """Why the next run cannot train privately, in plain words; None when it can."""
    target = st.session_state.target
    if target is not None and adaptation.resolve(st.session_state.adapt, learner, spec) not in ("none", "auto"):
        return _("Private training is off while the model adapts to the target **{target}**: the "
                 "adaptation learns from the training data outside the privacy guarantee. To train privately, choose "
                 "'none' under Domain adaptation on the Model page.", target=state.target_name())
    if not learner.private_ok:
        return _("{strategy} does not train privately yet: pick feature extraction or fine-tuning on the Model page.",
                 strategy=learner.title)
    return None


def private_settings(defaults: dict, learner: strategies.Strategy) -> dict:
    """The private-training fields of the form, and what they mean here."""
    st.markdown(_("**Private training**"))
    left, right = st.columns(2)
    epsilon = float(defaults.get("dp_epsilon") or privacy.DEFAULT_EPSILON)
    norm = float(defaults["dp_max_grad_norm"])
    chosen = {"dp_epsilon": left.number_input(_("Privacy budget ε (epsilon)"), 0.1, 100.0, epsilon, step=0.5,
                                              key=field_key("dp_epsilon", epsilon),
                                              help=paragraphs(help_for("epsilon"), privacy.explanation())),
              "dp_max_grad_norm": right.number_input(_("Clip each example's gradient to norm"), 0.01, 100.0, norm,
                                                     key=field_key("dp_max_grad_norm", norm),
                                                     help=paragraphs(help_for("clipping"), _(
                                                         "Each example's gradient is scaled down to at most this "
                                                         "length before the batch's are added up; the noise is "
                                                         "scaled to it. 1 is the usual choice.")))}
    said = [privacy.explanation(),
            _("The guarantee holds with δ = 1/{examples:,} (one in the number of training examples) and covers the "
              "training examples; the noise needed for that budget over the epochs set above is worked out before "
              "training, and the run reports the budget it spent (early stopping can leave some unspent). The noise "
              "drowns small steps: the private recipe starts at a higher learning rate.", examples=len(report.train))]
    if not learner.on_features:
        said.append(_("BatchNorm layers stay as pretrained (a batch's statistics mix its examples)."))
    st.caption(i18n.join(*said))
    return chosen


def run_note(run: runs.Run) -> None:
    """Say so when the run shown is not one of the form above: a comparison's or a curve's (started on the Compare
    page), or an older run with other settings."""
    config = run.config()
    if not config:  # a run folder without its settings (yet): nothing to compare
        return
    group = state.group_of(run)
    values = {"strategy": strategies.title(config.get("strategy", "")), "backbone": config.get("backbone", "")}
    if group:
        if group.startswith("curve-"):
            said = _("Shown: a point of a data-efficiency curve started on the Compare page (**{strategy}** with "
                     "`{backbone}`), not a run of the settings above. A run you start here takes its place.", **values)
        else:
            said = _("Shown: one run of a strategy comparison started on the Compare page (**{strategy}** with "
                     "`{backbone}`), not a run of the settings above. A run you start here takes its place.", **values)
        st.info(said, icon=":material/compare_arrows:")
        st.page_link("pages/5_compare.py", label=_("See it with the others on the Compare page"),
                     icon=":material/compare_arrows:")
    elif (config.get("strategy"), config.get("backbone")) != (st.session_state.strategy, st.session_state.backbone):
        st.caption(_("This run used **{strategy}** with `{backbone}`; the settings above are for a new run.",
                     **values))


def show_run(run: runs.Run) -> None:
    """The run's banner, its numbers and live curves: redrawn every second while it waits or trains."""
    ticking = run_view.is_live(run)

    @st.fragment(run_every=1.0 if ticking else None)
    @guarded
    def live_view() -> None:
        # Fixed slots, created in the same order on every run: the element positions never shift between
        # "queued", "running" and "finished", so the full rerun at the end replaces them, no ghosts.
        banner, controls, notices, numbers, curves, line, footer = (st.empty() for _ in range(7))
        if not run.dir.is_dir():
            banner.info(_("This run was deleted."))
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
            numbers.caption(_("The curves appear after the first epoch."))
        waiting = [r for r in supervisor.queue() if r.dir != run.dir]
        if waiting:
            line.caption(_("Also in line: {runs}", runs=", ".join(_("`{run}` ({status})", run=r.id,
                                                                    status=runs.status_words(r.status))
                                                                  for r in waiting)))
        if ticking and view.status not in ("queued", "running"):
            st.rerun()  # the whole page: stops this timer, shows the final state
        if view.status in ("finished", "stopped") and view.history:
            footer.page_link("pages/4_results.py", label=_("See the results"), icon=":material/arrow_forward:")

    live_view()


def main() -> None:
    run = state.train_page_run()
    if report is not None:
        # While a run trains, its charts come first and the settings fold away (a click opens them).
        with st.expander(_("Settings for a new run"), expanded=run is None or not run_view.is_live(run),
                         icon=":material/tune:"):
            new_run_form()
    else:
        st.info(_("Load a dataset to start a new run: the bundled sample is one click away."))
        st.page_link("pages/1_data.py", label=_("Go to Data"), icon=":material/folder_open:")
    if run is None:
        if report is not None:
            st.info(_("Press **Start training**: charts appear here and update while the model learns."))
        return
    st.subheader(_("Run `{run}`", run=run.id))
    run_note(run)
    show_run(run)


main()
