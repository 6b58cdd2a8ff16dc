"""fit(config) -> summary: the training loop, its events, and what it leaves in the run folder.

One loop serves every strategy and both modalities. Feature extraction trains the head alone on
cached features (tensors in, milliseconds per epoch); fine-tuning and from-scratch train the whole
model on images or tokenised texts; TF-IDF fits a linear model. Events are plain dicts: start,
features, batch, epoch, end, error.
"""

from __future__ import annotations

import copy
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


def fit(config: TrainConfig, run: runs.Run | None = None, on_event: EventHandler | None = None,
        should_stop: Callable[[], bool] = lambda: False) -> dict:
    """Train as ``config`` says; return the summary (also written to the run folder)."""
    started = time.perf_counter()
    config.validated()
    spec = backbones.get(config.backbone)
    report = data.load_dataset(config.data, config.val_fraction, config.seed, config.text_column, config.label_column)
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
    run.write_json("config.json", {"config": config.to_dict(), "versions": runs.versions(),
                                   "device": describe_device(device), "backbone": backbones.to_json(spec)})
    run.write_json("labels.json", report.classes)
    run.write_json("data.json", report.to_dict())
    emit = Reporter(run, on_event)
    try:
        seed_everything(config.seed)
        emit("start", run_dir=str(run.dir), device=describe_device(device), strategy=config.strategy,
             backbone=config.backbone, epochs=config.epochs, classes=report.classes, modality=report.modality,
             train_images=len(report.train), val_images=len(report.val), columns=report.details.get("guessed")
             and {"text": report.details["text_column"], "label": report.details["label_column"]})
        if config.strategy == "tfidf":
            from core.baselines import fit_tfidf

            outcome = fit_tfidf(report, emit, run)
        elif config.strategy == "feature_extract":
            outcome = _fit_feature_extract(config, spec, report, device, emit, should_stop)
        else:
            outcome = _fit_end_to_end(config, spec, report, device, emit, should_stop, run)
        outcome.update(seconds=round(time.perf_counter() - started, 3), device=describe_device(device),
                       run_dir=str(run.dir), strategy=config.strategy,
                       backbone=config.backbone if config.strategy != "tfidf" else "tfidf",
                       modality=report.modality, data=config.data, num_classes=len(report.classes),
                       train_images=len(report.train), val_images=len(report.val), epochs_planned=config.epochs)
        _write_results(run, report, outcome, head_only=config.strategy == "feature_extract")
        run.write_json("summary.json", outcome)
        run.set_status(outcome["status"])
        emit("end", summary=outcome)
        return outcome
    except BaseException as error:
        message = error.message + (" " + error.hint if error.hint else "") if isinstance(error, UserError) \
            else f"Training failed unexpectedly: {type(error).__name__}: {error}"
        run.set_status("failed")
        emit("error", message=message, detail=repr(error))
        raise


def _fit_feature_extract(config, spec, report, device, emit, should_stop) -> dict:
    def progress(done: int, total: int) -> None:
        emit("features", done=done, total=total)

    emit("features", done=0, total=report.num_items)
    feature_set = features.load_or_compute(report, spec, config.cache_dir, device, config.batch_size,
                                           progress, should_stop, config.max_length)
    if feature_set is None:
        return _stopped_before_training()
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
                         emit, should_stop, save=None)
    result.update(cache_hit=feature_set.cache_hit, feature_seconds=round(feature_set.seconds, 3),
                  trainable_params=count_parameters(head)[0], frozen_params=spec.num_params)
    return result


def _fit_end_to_end(config, spec, report, device, emit, should_stop, run) -> dict:
    model = build_model(spec, len(report.classes), config.strategy, dropout=config.head_dropout).to(device)
    micro = config.micro_batch_size or config.batch_size
    common = dict(spec=spec, seed=config.seed, device=device, augment=config.augment,
                  horizontal_flip=config.horizontal_flip, max_length=config.max_length)
    train_loader = make_loader(report, report.train, batch_size=micro, train=True, **common)
    val_loader = make_loader(report, report.val, batch_size=micro, train=False, **common)
    result = _train_loop(model, train_loader, val_loader, config, config.strategy, device, emit, should_stop,
                         save=run.save_weights)
    trainable_params, frozen_params = count_parameters(model)
    result.update(trainable_params=trainable_params, frozen_params=frozen_params, cache_hit=None)
    return result


def _stopped_before_training() -> dict:
    return {"status": "stopped", "best_val_acc": None, "final_val_acc": None, "best_epoch": None, "epochs": 0}


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


def _train_loop(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, config: TrainConfig,
                strategy: str, device: torch.device, emit, should_stop, save) -> dict:
    """Epochs of train + validate; keeps the best weights (highest val accuracy, then lowest loss).

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
    history, stopped = [], False
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        if isinstance(model, TransferModel) and strategy == "feature_extract":
            model.backbone.eval()
        total_loss, correct, seen = 0.0, 0, 0
        optimizer.zero_grad(set_to_none=True)
        for batch, (inputs, labels) in enumerate(train_loader, start=1):
            if should_stop():
                stopped = True
                break
            inputs, labels = to_device(inputs, device), labels.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits = _forward(model, inputs)
                loss = loss_fn(logits.float(), labels)
            if not torch.isfinite(loss):
                raise UserError(f"The loss became {loss.item()} in epoch {epoch}: training diverged.",
                                f"Lower the learning rate (now {config.lr:g}), for example by 10x.")
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
                  "seconds": round(time.perf_counter() - epoch_started, 3)}
        history.append(record)
        if scheduler and not per_step:
            scheduler.step()
        if (val["acc"], -val["loss"]) > (best["acc"], -best["loss"]):
            best.update(acc=val["acc"], loss=val["loss"], epoch=epoch,
                        state=copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()}))
            if save:
                save(best["state"])
        emit("epoch", **record, best_val_acc=best["acc"])
    if best["state"] is None:
        return _stopped_before_training()
    model.load_state_dict(best["state"])
    return {"status": "stopped" if stopped else "finished", "best_val_acc": best["acc"],
            "best_epoch": best["epoch"], "final_val_acc": history[-1]["val_acc"], "epochs": len(history),
            "best_val_loss": best["loss"], "best_state": best["state"],
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
    run.write_json("predictions.json", rows)
    scores = metrics.summarize_predictions(labels, predicted, report.classes)
    outcome.update(best_val_macro_f1=scores["macro_f1"], confusion_matrix=scores["confusion_matrix"],
                   per_class=scores["per_class"])
