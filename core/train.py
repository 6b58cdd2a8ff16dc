"""fit(config) -> summary: the training loop, its events, and what it leaves in the run folder.

One loop serves every strategy and both modalities. Feature extraction trains the head alone on
cached features (tensors in, milliseconds per epoch); fine-tuning and from-scratch train the whole
model on images or tokenised texts; TF-IDF fits a linear model. Events are plain dicts: start,
features, batch, epoch, early_stop, notice, interrupted, end, error.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import time
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core import backbones, data, features, metrics, runs
from core.config import TrainConfig
from core.device import describe_device, pick_device
from core.divergence import Divergence
from core.errors import UserError
from core.loaders import make_loader, to_device
from core.models import TransferModel, build_model, check_strategy, count_parameters, parameter_groups

EventHandler = Callable[[dict], None]


class Reporter:
    """Append each event to the run's events.jsonl and hand it to the caller."""

    def __init__(self, run: runs.Run, on_event: EventHandler | None) -> None:
        self.run, self.on_event = run, on_event

    def __call__(self, kind: str, **values) -> None:
        event = {"kind": kind, "time": round(time.time(), 3), **values}
        self.run.append_event(event)
        if self.on_event:
            self.on_event(event)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


StopCheck = Callable[[], "bool | str | None"]


def _stop_checker(run: runs.Run, should_stop: StopCheck) -> Callable[[], str | None]:
    """None while training should go on, else the status to end with: "stopped" (someone asked,
    here or through the run's stop file) or "interrupted" (the process is going away; resumable)."""
    def reason() -> str | None:
        asked = should_stop()
        if asked:
            return asked if isinstance(asked, str) else "stopped"
        return "stopped" if run.stop_requested() else None
    return reason


def fit(config: TrainConfig, run: runs.Run | None = None, on_event: EventHandler | None = None,
        should_stop: StopCheck = lambda: False, resume: bool = False) -> dict:
    """Train as ``config`` says; return the summary (also written to the run folder).

    ``run``: a prepared run folder (else a new one is made). ``resume``: continue from the run's
    checkpoint (the last finished epoch), or start it over when it has none. ``should_stop`` is
    polled between batches; a string it returns becomes the final status (e.g. "interrupted").
    """
    started = time.perf_counter()
    config.validated()
    spec = backbones.get(config.backbone)
    report = data.load_dataset(config.data, config.val_fraction, config.seed, config.text_column, config.label_column,
                               config.encoding)
    if config.strategy != "tfidf":
        if spec.modality != report.modality:
            raise UserError(f"{spec.title} is a {spec.modality} backbone but the data holds {report.modality}s.",
                            f"Pick a {report.modality} backbone (`python -m core backbones --modality {report.modality}`).")
        check_strategy(spec, config.strategy)
        if config.strategy != "scratch" and not spec.availability().available:
            raise UserError(f"The weights of {spec.title} are not on this machine.", spec.availability().detail)
    if not report.val:
        raise UserError("There is no validation data, so progress cannot be measured.",
                        "Add validation examples, or let TransferLab split the data automatically.")
    device = pick_device(config.device)
    run = run or runs.create_run(config.out_dir, config.model_label, config.strategy)
    with run.training_lock():
        if resume and run.recorded_status == "finished":
            raise UserError(f"Run {run.id} already finished.", "Start a new run with the same settings instead.")
        return _fit_in(run, config, spec, report, device, Reporter(run, on_event),
                       _stop_checker(run, should_stop), resume, started)


def _fit_in(run, config, spec, report, device, emit, stop_reason, resume, started) -> dict:
    """fit(), with the run folder locked by this process."""
    run.clear_stop()
    run.set_status("running")
    checkpoint = run.load_checkpoint() if resume else None
    if not resume:
        run.drop_checkpoint()
    write_config = lambda: run.write_config({  # noqa: E731
        "config": config.to_dict(), "versions": runs.versions(), "device": describe_device(device),
        "backbone": backbones.to_json(spec)})
    write_config()
    run.write_labels(report.classes)
    run.write_data(report.to_dict())
    try:
        seed_everything(config.seed)
        emit("start", run_dir=str(run.dir), device=describe_device(device), strategy=config.strategy,
             backbone=config.backbone, epochs=config.epochs, classes=report.classes, modality=report.modality,
             train_images=len(report.train), val_images=len(report.val), columns=report.details.get("guessed")
             and {"text": report.details["text_column"], "label": report.details["label_column"]},
             encoding=report.details.get("encoding_title") and {
                 "name": report.details["encoding"], "title": report.details["encoding_title"],
                 "confidence": report.details["encoding_confidence"], "chosen_by": report.details["encoding_chosen_by"]},
             language=report.details.get("language"),
             resumed_from_epoch=checkpoint["epoch"] if checkpoint else None)
        warning = language_warning(spec, report, config.strategy)
        if warning:
            emit("notice", message=warning)
        feature_batch = config.batch_size
        while True:
            try:
                if config.strategy == "tfidf":
                    from core.baselines import fit_tfidf

                    outcome = fit_tfidf(report, emit, run)
                elif config.strategy == "feature_extract":
                    outcome = _fit_feature_extract(config, spec, report, device, emit, stop_reason, run, checkpoint,
                                                   feature_batch)
                else:
                    outcome = _fit_end_to_end(config, spec, report, device, emit, stop_reason, run, checkpoint)
                break
            except Exception as error:  # out of memory: retry with smaller batches where that is safe
                if not is_out_of_memory(error):
                    raise
                config, feature_batch = _smaller_batches(config, feature_batch, emit, device)
                write_config()
                checkpoint = run.load_checkpoint()
        if outcome["status"] == "interrupted":  # the process is going away: keep the checkpoint, be quick
            run.set_status("interrupted")
            emit("interrupted", epochs=outcome["epochs"],
                 message=f"Interrupted; resume with `python -m core train --run {run.dir}`.")
            return {"status": "interrupted", "run_dir": str(run.dir), "epochs": outcome["epochs"]}
        outcome.update(seconds=round(time.perf_counter() - started, 3), device=describe_device(device),
                       run_dir=str(run.dir), strategy=config.strategy,
                       backbone=config.backbone if config.strategy != "tfidf" else "tfidf",
                       modality=report.modality, data=config.data, num_classes=len(report.classes),
                       train_images=len(report.train), val_images=len(report.val), epochs_planned=config.epochs,
                       group=config.group)
        _write_results(run, report, outcome, head_only=config.strategy == "feature_extract")
        run.write_summary(outcome)
        if outcome["status"] == "finished":
            run.drop_checkpoint()
        run.set_status(outcome["status"])
        emit("end", summary=outcome)
        return outcome
    except BaseException as error:
        message = error.message + (" " + error.hint if error.hint else "") if isinstance(error, UserError) \
            else f"Training failed unexpectedly: {type(error).__name__}: {error}"
        try:
            run.set_status("failed")
            emit("error", message=message, detail=repr(error))
        except Exception:  # a full disk may refuse even these few bytes: the CLI still prints the message
            pass
        raise


def language_warning(spec: backbones.BackboneSpec, report: data.DataReport, strategy: str) -> str | None:
    """Said before training: an encoder trained on English alone will read texts in another language poorly."""
    from core import languages

    if report.modality != "text" or strategy in ("tfidf", "scratch"):
        return None
    return languages.encoder_warning(spec.title, spec.languages, languages.from_dict(report.details.get("language")))


def is_out_of_memory(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text))


def _smaller_batches(config: TrainConfig, feature_batch: int, emit, device) -> tuple[TrainConfig, int]:
    """After running out of memory: the same training with half as many examples in memory at once.

    Safe because nothing the model learns changes: the feature pass just takes smaller bites, and
    fine-tuning adds up the gradients of two half batches into the same optimizer step.
    """
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    if config.strategy == "feature_extract":
        if feature_batch <= 1:
            raise UserError("Out of memory even with one example at a time.",
                            "Pick a smaller backbone, or close other programs using the memory.")
        emit("notice", message=f"Out of memory computing features {feature_batch} at a time; "
                               f"continuing {feature_batch // 2} at a time.")
        return config, feature_batch // 2
    micro = config.micro_batch_size or config.batch_size
    if micro <= 1:
        hint = "Use a shorter max length, " if config.strategy != "scratch" and config.max_length > 64 else ""
        raise UserError("Out of memory even with one example per step.",
                        f"{hint}Pick a smaller backbone, or use feature extraction (it needs far less memory).")
    smaller = dataclasses.replace(config, micro_batch_size=micro // 2)
    emit("notice", message=f"Out of memory with {micro} examples per step; continuing with {micro // 2} per "
                           f"step and adding up gradients, so each update still sees {config.batch_size}.")
    return smaller, feature_batch


def _fit_feature_extract(config, spec, report, device, emit, stop_reason, run, checkpoint, feature_batch) -> dict:
    def progress(done: int, total: int) -> None:
        emit("features", done=done, total=total)

    emit("features", done=0, total=report.num_items)
    feature_set = features.load_or_compute(report, spec, config.cache_dir, device, feature_batch,
                                           progress, stop_reason, config.max_length,
                                           on_notice=lambda message: emit("notice", message=message))
    if feature_set is None:
        return _stopped_before_training(stop_reason() or "stopped")
    emit("features", done=report.num_items, total=report.num_items, cache_hit=feature_set.cache_hit,
         seconds=round(feature_set.seconds, 3))
    train_x, val_x = feature_set.rows(report.train), feature_set.rows(report.val)
    train_y = torch.tensor([label for _, label in report.train])
    val_y = torch.tensor([label for _, label in report.val])
    generator = torch.Generator().manual_seed(config.seed)
    train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=config.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(TensorDataset(val_x, val_y), batch_size=256)
    head = build_model(spec, len(report.classes), "feature_extract", pretrained=False,
                       dropout=config.head_dropout).head
    result = _train_loop(head, train_loader, val_loader, config, "feature_extract", torch.device("cpu"),
                         emit, stop_reason, run, checkpoint, save_best=False)
    result.update(cache_hit=feature_set.cache_hit, feature_seconds=round(feature_set.seconds, 3),
                  trainable_params=count_parameters(head)[0], frozen_params=spec.num_params)
    return result


def _fit_end_to_end(config, spec, report, device, emit, stop_reason, run, checkpoint) -> dict:
    model = build_model(spec, len(report.classes), config.strategy, dropout=config.head_dropout).to(device)
    micro = config.micro_batch_size or config.batch_size
    common = dict(spec=spec, seed=config.seed, device=device, augment=config.augment,
                  horizontal_flip=config.horizontal_flip, max_length=config.max_length)
    train_loader = make_loader(report, report.train, batch_size=micro, train=True, **common)
    val_loader = make_loader(report, report.val, batch_size=micro, train=False, **common)
    result = _train_loop(model, train_loader, val_loader, config, config.strategy, device, emit, stop_reason,
                         run, checkpoint, save_best=True)
    trainable_params, frozen_params = count_parameters(model)
    result.update(trainable_params=trainable_params, frozen_params=frozen_params, cache_hit=None)
    return result


def _stopped_before_training(status: str = "stopped") -> dict:
    return {"status": status, "best_val_acc": None, "final_val_acc": None, "best_epoch": None, "epochs": 0}


def _schedule(optimizer, config: TrainConfig, steps_per_epoch: int):
    """(scheduler, steps it per optimizer step?) for none, StepLR (per epoch) or linear warmup/decay."""
    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, config.step_size, config.gamma), False
    if config.scheduler == "linear":
        total = max(1, steps_per_epoch * config.epochs)
        warmup = int(total * config.warmup_fraction)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (total - step) / max(1, total - warmup))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor), True
    return None, False


def _forward(model: nn.Module, inputs) -> torch.Tensor:
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


def freeze_batchnorm_statistics(module: nn.Module) -> None:
    """BatchNorm layers normalise with their pretrained running statistics while the weights around
    them fine-tune. Re-estimating them from small batches of a small dataset shifts every layer's
    input away from what the weights expect: validation accuracy can collapse to chance (measured on
    two-colour squares, 80 images: 50% with updated statistics, 100% with frozen ones)."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _train_loop(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, config: TrainConfig,
                strategy: str, device: torch.device, emit, stop_reason, run: runs.Run, checkpoint: dict | None,
                save_best: bool) -> dict:
    """Epochs of train + validate. Keeps the best weights (highest val accuracy, then lowest loss);
    stops early after ``config.patience`` epochs without a lower validation loss; checkpoints every
    epoch so an interrupted run continues where it was (each epoch is seeded by its number, so a
    resumed run trains exactly as an uninterrupted one would).

    With a micro batch size, gradients of several small batches add up to one optimizer step.
    """
    groups = parameter_groups(model, strategy, config.lr, config.head_lr_multiplier) \
        if isinstance(model, TransferModel) else [{"params": list(model.parameters()), "lr": config.lr, "name": "head"}]
    optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay) \
        if config.optimizer == "sgd" else torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    accumulate = max(1, round(config.batch_size / config.micro_batch_size)) if config.micro_batch_size else 1
    scheduler, per_step = _schedule(optimizer, config, math.ceil(len(train_loader) / accumulate))
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss()
    best = {"acc": -1.0, "loss": math.inf, "epoch": None, "state": None}
    watch = {"lowest_loss": math.inf, "since": 0}       # early stopping on validation loss
    divergence = Divergence(config.lr)
    history, first_epoch = [], 1
    if checkpoint:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None and checkpoint.get("scheduler"):
            scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"]) if checkpoint.get("scaler") else None
        best.update(checkpoint["best"])
        if best["state"] is None and best["epoch"] is not None:
            best["state"] = run.load_weights()
        watch.update(checkpoint["watch"])
        divergence.start_loss = checkpoint.get("start_loss")
        history, first_epoch = list(checkpoint["history"]), checkpoint["epoch"] + 1
    stopped, early = None, False
    for epoch in range(first_epoch, config.epochs + 1):
        epoch_started = time.perf_counter()
        torch.manual_seed(config.seed * 1000 + epoch)  # augmentation and dropout of this epoch
        if train_loader.generator is not None:
            train_loader.generator.manual_seed(config.seed * 1000 + epoch)  # this epoch's shuffle
        model.train()
        if isinstance(model, TransferModel) and strategy == "feature_extract":
            model.backbone.eval()
        elif isinstance(model, TransferModel) and strategy == "fine_tune" and not config.train_batchnorm:
            freeze_batchnorm_statistics(model.backbone)
        total_loss, correct, seen = 0.0, 0, 0
        optimizer.zero_grad(set_to_none=True)
        for batch, (inputs, labels) in enumerate(train_loader, start=1):
            stopped = stop_reason()
            if stopped:
                break
            inputs, labels = to_device(inputs, device), labels.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits = _forward(model, inputs)
                loss = loss_fn(logits.float(), labels)
            divergence.check_batch(loss.item(), epoch)
            scaler.scale(loss / accumulate).backward()
            if batch % accumulate == 0 or batch == len(train_loader):
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                if per_step:
                    scheduler.step()
            total_loss += loss.item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
            emit("batch", epoch=epoch, batch=batch, batches=len(train_loader), loss=round(loss.item(), 5),
                 examples=len(labels))
        if stopped:
            break
        val = evaluate(model, val_loader, device)
        lrs = {group.get("name", "all"): group["lr"] for group in optimizer.param_groups}
        record = {"epoch": epoch, "epochs": config.epochs, "train_loss": total_loss / max(seen, 1),
                  "train_acc": correct / max(seen, 1), "val_loss": val["loss"], "val_acc": val["acc"],
                  "lr": lrs.get("head", lrs.get("all")), "backbone_lr": lrs.get("backbone"),
                  "seconds": round(time.perf_counter() - epoch_started, 3), "examples_per_second":
                  round(seen / max(time.perf_counter() - epoch_started, 1e-9), 2)}
        history.append(record)
        divergence.check_epoch(record["train_loss"], epoch)
        if scheduler and not per_step:
            scheduler.step()
        if (val["acc"], -val["loss"]) > (best["acc"], -best["loss"]):
            best.update(acc=val["acc"], loss=val["loss"], epoch=epoch, state=_cpu_state(model))
            if save_best:
                run.save_weights(best["state"])
        if val["loss"] < watch["lowest_loss"] - 1e-4:
            watch.update(lowest_loss=val["loss"], since=0)
        else:
            watch["since"] += 1
        emit("epoch", **record, best_val_acc=best["acc"])
        run.save_checkpoint({
            "epoch": epoch, "model": _cpu_state(model), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None, "scaler": scaler.state_dict(),
            "best": {**best, "state": None if save_best else best["state"]}, "watch": dict(watch),
            "history": history, "start_loss": divergence.start_loss})
        if config.patience and watch["since"] >= config.patience and epoch < config.epochs:
            early = True
            emit("early_stop", epoch=epoch, patience=config.patience,
                 message=f"Stopped early after epoch {epoch}: the validation loss has not improved for "
                         f"{config.patience} epochs, so more epochs would mostly memorise the training data.")
            break
    if best["state"] is None:
        return _stopped_before_training(stopped or "stopped")
    if stopped == "interrupted":
        return {"status": "interrupted", "epochs": len(history)}
    model.load_state_dict(best["state"])
    return {"status": stopped or "finished", "best_val_acc": best["acc"], "best_epoch": best["epoch"],
            "final_val_acc": history[-1]["val_acc"], "epochs": len(history), "best_val_loss": best["loss"],
            "early_stopped": early, "best_state": best["state"],
            "best_predictions": evaluate(model, val_loader, device)}


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> dict:
    """Loss, accuracy, and per-example probabilities over ``loader`` (in order)."""
    model.eval()
    losses, probabilities, labels = [], [], []
    for inputs, targets in loader:
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            logits = _forward(model, to_device(inputs, device)).float().cpu()
        losses.append(nn.functional.cross_entropy(logits, targets, reduction="sum").item())
        probabilities.append(logits.softmax(1))
        labels.append(targets)
    probs, truth = torch.cat(probabilities), torch.cat(labels)
    return {"loss": sum(losses) / max(len(truth), 1), "acc": (probs.argmax(1) == truth).float().mean().item(),
            "probabilities": probs, "labels": truth}


def _write_results(run: runs.Run, report: data.DataReport, outcome: dict, head_only: bool) -> None:
    """Best weights (full-model key names), validation predictions, and their scores into the run."""
    state = outcome.pop("best_state", None)
    evaluation = outcome.pop("best_predictions", None)
    if state is not None:
        run.save_weights({f"head.{k}": v for k, v in state.items()} if head_only else state)
    if evaluation is None:
        outcome.update(best_val_macro_f1=None, confusion_matrix=[], per_class=[])
        return
    probabilities, labels = evaluation["probabilities"], evaluation["labels"].tolist()
    predicted = probabilities.argmax(1).tolist()
    rows = [{"item": key, "label": label, "predicted": guess, "confidence": round(float(p[guess]), 5),
             "true_probability": round(float(p[label]), 5), "probabilities": [round(float(x), 5) for x in p]}
            for (key, label), guess, p in zip(report.val, predicted, probabilities)]
    run.write_predictions(rows)
    scores = metrics.summarize_predictions(labels, predicted, report.classes)
    outcome.update(best_val_macro_f1=scores["macro_f1"], confusion_matrix=scores["confusion_matrix"],
                   per_class=scores["per_class"])
