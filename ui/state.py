"""Per-user session state: few keys, each with one meaning, initialised once with setdefault.

    data          what TrainConfig.data will be: "sample:mnist", a folder path
    data_name     how to call it on screen (the uploaded file's name, the sample's title)
    report        the DataReport of that data (classes, split, warnings)
    backbone      registry name of the chosen backbone
    strategy      a registry name (core/strategies/): feature_extract, fine_tune, scratch, tfidf...
    target        where the model will be used (core.data.domains.Target), or None; target_source: its address
    adapt         the domain-adaptation method (core/adaptation/), "auto" for the measured default
    private_training   the Train page's switch: the next run trains with differential privacy (core/privacy.py)
    run_dir       folder of the run this session started or opened last, on any page (what Results opens)
    own_run       folder of the run this person last started from the Train form: the Train page shows it
                  rather than a comparison's or a curve's run (train_page_run)
    val_fraction, split_seed   how data without a val/ folder is split
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import streamlit as st

from core import backbones, data, strategies
from core.data import samples
from core.i18n import _
from ui.widgets import show_error

DEFAULTS = {"data": None, "data_name": None, "report": None, "backbone": backbones.default_for("image"), "strategy": strategies.FEATURE_EXTRACTION,
            "run_dir": None, "val_fraction": 0.2, "split_seed": 0, "target": None, "target_source": None,
            "adapt": "auto", "private_training": False, "own_run": None}


def init() -> None:
    _through_app_py()
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if str(st.session_state.data).startswith("sample:"):  # a sample's title: in the language chosen now
        st.session_state.data_name = display_name(st.session_state.data)


def _through_app_py() -> None:
    """Make sure a page runs inside app.py's st.navigation.

    Because the project has a pages/ folder, a freshly started Streamlit server runs a page script
    on its own (its old multipage mode) when the very first visit is a deep link such as /train,
    until some session has reached st.navigation: no sidebar, no session set-up. Seen in the
    browser after a restart. Here a page that finds itself in that mode switches it off and
    reruns, which goes through app.py and lands on the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without that class: nothing to correct
        return
    from streamlit import config

    if config.get_option("global.appTest"):
        return  # AppTest turns that mode back on before every run; a rerun would drop the clicked button
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def load_data(source: str, name: str | None = None, text_column: str | None = None,
              label_column: str | None = None, encoding: str | None = None) -> bool:
    """Scan ``source`` into the session's report; a problem is shown in plain words and the data
    loaded before stays. True if loaded. ``encoding``: a table's, None to detect it."""
    try:
        with st.spinner(_("Reading the data...")):
            report = data.load_dataset(source, st.session_state.val_fraction, st.session_state.split_seed,
                                       text_column, label_column, encoding)
        if backbones.get(st.session_state.backbone).modality != report.modality:  # images <-> texts
            st.session_state.backbone = backbones.default_for(report.modality)
            st.session_state.strategy = strategies.FEATURE_EXTRACTION
        st.session_state.report, st.session_state.data = report, source
        st.session_state.data_name = name or display_name(source)
        if st.session_state.target is not None:  # the target's labels are in the old data's classes: read it again
            if not load_target(st.session_state.target_source, st.session_state.target.name):
                st.session_state.target = st.session_state.target_source = None
        return True
    except Exception as error:
        show_error(error)
        return False


def new_upload(upload, seen_key: str) -> str | None:
    """The workspace path of a file just dropped on ``st.file_uploader`` (a zip unpacked, a table
    stored), once per file (``seen_key`` remembers it); None when there is none, or it was seen."""
    if upload is None or st.session_state.get(seen_key) == upload.file_id:
        return None
    st.session_state[seen_key] = upload.file_id
    from core import paths
    from core.data import archive

    with st.spinner(_("Unpacking {file}...", file=upload.name)):
        if upload.name.lower().endswith(".zip"):
            return str(archive.import_zip(upload.getvalue(), paths.data_dir() / "uploads"))
        return str(data.store_upload(upload.name, upload.getvalue()))


# What the Train form does not hold: where the run trains and on what (set apart, above), where it is kept
NOT_IN_FORM = {"data", "backbone", "strategy", "target", "adapt", "group", "device", "out_dir", "cache_dir",
               "val_fraction", "text_column", "label_column", "encoding"}


def set_up(config) -> bool:
    """The app set up as ``config`` trains (a lesson's step, with one click): its data and target, backbone,
    strategy, adaptation, private training and every setting of the Train form. True once its data loaded."""
    st.session_state.val_fraction = config.val_fraction
    st.session_state.target = st.session_state.target_source = None  # the step's target, or none
    if not load_data(config.data, text_column=config.text_column, label_column=config.label_column,
                     encoding=config.encoding):
        return False
    if config.target and not load_target(config.target):
        return False
    st.session_state.backbone, st.session_state.strategy = config.backbone, config.strategy
    st.session_state.adapt = config.adapt or "auto"
    st.session_state.private_training = config.dp_epsilon is not None
    settings = {key: value for key, value in config.to_dict().items() if key not in NOT_IN_FORM}
    st.session_state.setdefault("train_settings", {})[settings_key(st.session_state.report.modality,
                                                                    config.strategy)] = settings
    return True


def target_name() -> str:
    """The loaded target's name: a bundled sample's in the current language (it follows the language switch),
    else the name it was loaded under (an upload's file name)."""
    from core.data import samples

    found = samples.name_of(st.session_state.target_source or "")
    return str(found) if not isinstance(found, str) else st.session_state.target.name


def load_target(source: str, name: str | None = None) -> bool:
    """Open ``source`` as the target of the loaded data (core.data.domains); a problem is shown and the
    target loaded before stays. True if loaded."""
    from core.data import domains

    try:
        with st.spinner(_("Reading the target data...")):
            target = domains.load_target(source, st.session_state.report)
        target.name = name or target.name
        st.session_state.target, st.session_state.target_source = target, source
        return True
    except Exception as error:
        show_error(error)
        return False


def display_name(data: str) -> str:
    """How to call a data source on screen: a sample's name (in the current language, without counts: those
    are the data's, exclusions left out), else the file or folder's name."""
    return str(samples.name_of(data))


def require_data() -> bool:
    """True if data is loaded; otherwise say what to do, with a link, and return False."""
    if st.session_state.get("report") is None:
        st.info(_("Load a dataset first: the bundled sample is one click away."))
        st.page_link("pages/1_data.py", label=_("Go to Data"), icon=":material/folder_open:")
        return False
    return True


def _command_line() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    return parser.parse_known_args(sys.argv[1:])[0]


def preload_from_command_line() -> None:
    """Once per session: load the data (and backbone, strategy) the page's address remembers, so a
    reload keeps them; else the ``--data`` given after ``streamlit run app.py --``."""
    if st.session_state.get("preload_done"):
        return
    st.session_state.preload_done = True
    from ui import access

    params = st.query_params
    data = params.get("data") or _command_line().data
    if params.get("data") and not access.may_read(params["data"]):  # an address anyone could have sent
        st.warning(access.why_paths_are_off(), icon=":material/lock:")
        data = _command_line().data
    if data and st.session_state.report is None:
        load_data(data, text_column=params.get("text_col"), label_column=params.get("label_col"),
                  encoding=params.get("encoding"))
    report = st.session_state.report
    backbone = params.get("backbone")
    if backbone and not access.server_paths_allowed() and access.is_local_folder(backbone):
        backbone = None
    if report is not None and backbone:
        try:
            if backbones.get(backbone).modality == report.modality:
                st.session_state.backbone = backbone
        except Exception:
            pass  # a stale or mistyped address: keep the default
    from core import strategies

    if report is not None and params.get("strategy") in strategies.names(report.modality):
        st.session_state.strategy = params["strategy"]


def remember_in_url() -> None:
    """Write the session's data, columns, backbone and strategy into the address (for reloads)."""
    report = st.session_state.report
    wanted = {"backbone": st.session_state.backbone, "strategy": st.session_state.strategy}
    if report is not None:
        wanted["data"] = str(st.session_state.data)
        if report.modality == "text":
            wanted.update(text_col=report.details.get("text_column"), label_col=report.details.get("label_column"))
            if report.details.get("encoding_chosen_by") == "you":
                wanted["encoding"] = report.details["encoding"]
            elif "encoding" in st.query_params:
                del st.query_params["encoding"]
    for key, value in wanted.items():
        if value and st.query_params.get(key) != value:
            st.query_params[key] = value


def settings_key(modality: str, strategy: str) -> tuple:
    """Where the Train form remembers its settings: per modality and strategy, private training's apart
    (its recipe differs: core/strategies' private_defaults)."""
    return (modality, strategy) + (("private",) if private_for(strategy) else ())


def private_for(strategy: str) -> bool:
    """Is the next run of ``strategy`` private? The switch is on and the strategy trains by gradient steps."""
    from core import strategies

    learner = strategies.find(strategy)
    return bool(st.session_state.get("private_training")) and learner is not None and not learner.fits_in_one_go


def next_run_config():
    """The TrainConfig that Start would submit now with the remembered settings (None: no data, or
    settings a run would refuse)."""
    report = st.session_state.get("report")
    if report is None:
        return None
    from core.config import TrainConfig

    strategy = st.session_state.strategy
    remembered = st.session_state.get("train_settings", {}).get(settings_key(report.modality, strategy), {})
    if private_for(strategy):
        from core import privacy

        remembered = {"dp_epsilon": privacy.DEFAULT_EPSILON, **remembered}
    try:
        return TrainConfig.for_strategy(st.session_state.data, strategy, backbone=st.session_state.backbone,
                                        val_fraction=st.session_state.val_fraction, **report.read_settings(), **remembered)
    except Exception:  # Start says why, in its own words
        return None


def warm_up() -> None:
    """A warm training process started as the first page begins, before the data loads (core/jobs.py:
    Supervisor.warm): Start pressed at once then finds it already importing. Off with TRANSFERLAB_PREPARE=0."""
    if os.environ.get("TRANSFERLAB_PREPARE", "1") != "0" and st.session_state.get("prepared_for") is None:
        from core import jobs

        jobs.supervisor().warm()


def prepare_next_run():
    """Let the supervisor get the next run ready (core/jobs.py: a warm process computing the loaded data's
    features for the chosen backbone and strategy; without data, just warm), so that Start shows a first
    chart in seconds; asked once per change of this session's settings (several people on one server take
    turns, they do not undo each other on every click). Returns the config prepared for. Off with
    TRANSFERLAB_PREPARE=0 (the tests, which start many servers)."""
    if os.environ.get("TRANSFERLAB_PREPARE", "1") == "0":
        return None
    import json

    from core import jobs

    config = next_run_config()
    key = json.dumps(config.to_dict(), sort_keys=True) if config is not None else "warm"
    if st.session_state.get("prepared_for") != key:
        st.session_state.prepared_for = key
        supervisor = jobs.supervisor()
        # until the warm process says a new word, what it says is about the settings before (ui/session_status.py);
        # unless it prepares these already (another tab asked for them)
        already = config is not None and supervisor.preparation(config) is not None
        st.session_state.prepare_asked = None if already else (time.time(), supervisor.preparation())
        supervisor.prepare(config)
    return config


def train_page_run():
    """The run the Train page shows under its form: the one this session started or opened last; but when that
    is a member of a comparison or a curve (started on the Compare page, with other settings than the form's),
    the run last started from the form, if any. In a fresh tab: the one training (or waiting) now; after a
    restart, one that was interrupted, to resume. None: nothing to show."""
    from core import jobs, paths, runs

    opened, own = _existing_run(st.session_state.run_dir), _existing_run(st.session_state.own_run)
    if opened is not None:
        return own if own is not None and group_of(opened) else opened
    if own is not None:
        return own
    line = jobs.supervisor().queue()
    if line:
        st.session_state.run_dir = str(line[0].dir)
        return line[0]
    latest = runs.list_runs(paths.runs_dir())[:1]
    if latest and latest[0].status == "interrupted":  # the app restarted mid-run: offer to resume it
        st.session_state.run_dir = str(latest[0].dir)
        return latest[0]
    return None


def _existing_run(folder: str | None):
    from core import runs

    return runs.Run(Path(folder)) if folder and Path(folder).is_dir() else None


def group_of(run) -> str | None:
    """The comparison ("compare-...") or curve ("curve-...") that ``run`` belongs to; None for a run of its own."""
    try:
        return run.config().get("group") or None
    except Exception:  # no readable config yet: a run of its own as far as anyone can tell
        return None
