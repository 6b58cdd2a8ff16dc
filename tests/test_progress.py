from core.progress import follow, format_seconds


def _events():
    return [{"kind": "start", "time": 100.0, "device": "CPU (2 threads)", "epochs": 2},
            {"kind": "features", "time": 100.0, "done": 0, "total": 100},
            {"kind": "features", "time": 110.0, "done": 50, "total": 100}]


def test_feature_phase_reports_images_and_eta():
    view = follow(_events(), "running", now=110.0)
    assert view.phase == "features" and view.fraction == 0.45
    assert view.eta_seconds == 10.0 and "50/100 images" in view.message


def test_training_phase_counts_batches_across_epochs():
    events = _events() + [{"kind": "features", "time": 120.0, "done": 100, "total": 100, "cache_hit": False},
                          {"kind": "batch", "time": 121.0, "epoch": 1, "batch": 1, "batches": 4, "loss": 1.0},
                          {"kind": "batch", "time": 124.0, "epoch": 2, "batch": 2, "batches": 4, "loss": 0.5}]
    view = follow(events, "running", now=124.0)
    assert view.phase == "training" and view.message.startswith("Epoch 2/2 · batch 2/4")
    assert abs(view.fraction - (0.9 + 0.1 * 6 / 8)) < 1e-9
    assert view.eta_seconds == 1.0 and view.batch_losses == [1.0, 0.5]


def test_finished_and_failed_runs():
    assert follow(_events(), "finished", now=0).fraction == 1.0
    failed = follow(_events() + [{"kind": "error", "time": 1, "message": "Out of memory"}], "failed", now=0)
    assert failed.message == "Failed" and failed.error == "Out of memory"
    assert format_seconds(75) == "1:15" and format_seconds(None) == "estimating..."
