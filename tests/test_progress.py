from core.progress import follow, format_seconds


def _events():
    return [{"kind": "start", "time": 100.0, "device": "CPU (2 threads)", "epochs": 2},
            {"kind": "features", "time": 100.0, "done": 0, "total": 100},
            {"kind": "features", "time": 110.0, "done": 50, "total": 100}]


def test_feature_phase_reports_images_and_eta():
    view = follow(_events(), "running", now=110.0)
    assert view.phase == "features" and view.fraction == 0.45
    assert view.eta_seconds == 10.0 and "50/100 images" in view.message


def test_a_pass_joined_midway_is_paced_from_where_the_run_joined_it():
    events = [{"kind": "start", "time": 100.0, "device": "CPU (2 threads)", "epochs": 2},
              {"kind": "features", "time": 100.0, "done": 600, "total": 1000, "joined": True},  # begun before Start
              {"kind": "features", "time": 102.0, "done": 700, "total": 1000}]
    view = follow(events, "running", now=102.0)
    assert view.fraction == 0.9 * 0.7 and "700/1,000 images" in view.message
    assert view.throughput == 50.0 and view.eta_seconds == 6.0  # 100 in 2 s, not 700 in 2 s


def test_training_phase_counts_batches_across_epochs():
    events = _events() + [{"kind": "features", "time": 120.0, "done": 100, "total": 100, "cache_hit": False},
                          {"kind": "batch", "time": 121.0, "epoch": 1, "batch": 1, "batches": 4, "loss": 1.0,
                           "examples": 8},
                          {"kind": "batch", "time": 124.0, "epoch": 2, "batch": 2, "batches": 4, "loss": 0.5,
                           "examples": 6}]
    view = follow(events, "running", now=124.0)
    assert view.phase == "training" and view.message.startswith("Epoch 2/2 · batch 2/4")
    assert abs(view.fraction - (0.9 + 0.1 * 6 / 8)) < 1e-9
    assert view.eta_seconds == 1.0 and view.batch_losses == [1.0, 0.5]
    assert view.throughput == 2.0 and view.epoch == 2 and view.epochs == 2  # 6 examples in 3 seconds


def test_a_resumed_run_counts_its_history_once_and_paces_only_its_own_attempt():
    epoch = {"kind": "epoch", "epochs": 4, "train_loss": 1, "train_acc": 0.5, "val_loss": 1, "val_acc": 0.5}
    first = [{"kind": "start", "time": 0.0, "device": "CPU", "epochs": 4, "modality": "text"},
             {**epoch, "epoch": 1, "time": 10.0}, {**epoch, "epoch": 2, "time": 20.0, "val_acc": 0.6},
             {"kind": "batch", "time": 25.0, "epoch": 3, "batch": 1, "batches": 2, "loss": 1.0, "examples": 4}]
    second = [{"kind": "start", "time": 1000.0, "device": "CPU", "epochs": 4, "modality": "text",
               "resumed_from_epoch": 2},
              {**epoch, "epoch": 2, "time": 1001.0, "val_acc": 0.7},  # redone after the resume: last wins
              {"kind": "batch", "time": 1002.0, "epoch": 3, "batch": 1, "batches": 2, "loss": 0.9, "examples": 4},
              {"kind": "batch", "time": 1004.0, "epoch": 3, "batch": 2, "batches": 2, "loss": 0.8, "examples": 4}]
    view = follow(first + second, "running", now=1004.0)
    assert [e["epoch"] for e in view.history] == [1, 2] and view.history[1]["val_acc"] == 0.7
    assert view.batch_losses == [0.9, 0.8] and view.fraction == 0.75
    assert view.eta_seconds == 2.0  # half of this attempt's two epochs took 2 s (the 1000 s pause is not pace)
    assert view.noun == "texts" and view.throughput == 2.0


def test_queued_and_interrupted_runs_say_so():
    assert follow([], "queued", now=0).message == "Waiting for its turn"
    view = follow(_events() + [{"kind": "epoch", "epoch": 1, "epochs": 2, "val_acc": 0.5}], "interrupted", now=0)
    assert view.fraction == 0.5 and "resumed" in view.message


def test_finished_and_failed_runs():
    assert follow(_events(), "finished", now=0).fraction == 1.0
    failed = follow(_events() + [{"kind": "error", "time": 1, "message": "Out of memory"}], "failed", now=0)
    assert failed.message == "Failed" and failed.error == "Out of memory"
    assert format_seconds(75) == "1 min 15 s" and format_seconds(None) == "estimating..."
