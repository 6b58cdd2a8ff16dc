"""Training on several processes, GPUs or machines: PyTorch's own DistributedDataParallel, started by torchrun.

    torchrun --standalone --nproc-per-node N -m core train ...        (one machine, N processes/GPUs)

Every process ("rank") runs the same training; ``World`` is what they share. What differs per rank:
- the training data: each rank gets its own part of every epoch's shuffle (``DistributedSampler`` for
  images, every N-th batch of the epoch's length-grouped batches for texts), with ``batch_size / N``
  examples per step, so the gradients averaged by DDP are those of the recipe's batch size;
- the feature pass and validation: each rank computes every N-th example (``shard``, padded so every
  rank does as many batches), and ``gather`` puts the rows back together in order on every rank, so all
  ranks see the same numbers and take the same decisions (best epoch, early stopping);
- only rank 0 writes: the run folder, its events, the cache and the final JSON line. The others train
  into a ``runs.FollowerRun`` (the same folder, read but never written).
A stop (the run's stop file, Ctrl+C, a signal) is agreed on: every batch, the ranks share whether one
of them was asked to stop (``agree``), so all leave the loop at the same batch and none waits forever.
Small messages travel over gloo (on GPUs too, beside NCCL), so agreeing never waits for the GPU.
"""

from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch

STOP_CODES = {None: 0, "stopped": 1, "interrupted": 2}


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None
    control: Any = None          # the process group for small messages (gloo)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU (LOCAL_RANK) on a machine with several."""
        if self.active and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def per_rank(self, batch_size: int) -> int:
        """Examples per step on each rank, so that all ranks together make ``batch_size``."""
        return max(1, math.ceil(batch_size / self.size))

    def shard(self, items: list) -> list:
        """Every ``size``-th item from this rank's place, padded (with the last item) so every rank has
        as many; ``gather`` undoes it."""
        if not self.active:
            return items
        mine = items[self.rank::self.size]
        return mine + items[-1:] * (math.ceil(len(items) / self.size) - len(mine))

    def gather(self, rows: torch.Tensor, count: int) -> torch.Tensor:
        """Rows each rank computed for its ``shard``, back in the items' order, on every rank."""
        if not self.active:
            return rows
        import torch.distributed as dist

        parts: list = [None] * self.size
        dist.all_gather_object(parts, rows.cpu(), group=self.control)
        return interleave(parts, count)

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.active:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def agree(self, reason: str | None) -> str | None:
        """The stop reason of whichever rank has one (interrupted over stopped), the same on every rank."""
        if not self.active:
            return reason
        import torch.distributed as dist

        code = torch.tensor([STOP_CODES.get(reason, 1)])
        dist.all_reduce(code, op=dist.ReduceOp.MAX, group=self.control)
        return {number: name for name, number in STOP_CODES.items()}[int(code)]

    def agreeing(self, reason: Callable[[], str | None]) -> Callable[[], str | None]:
        return reason if not self.active else (lambda: self.agree(reason()))

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` inside DistributedDataParallel (gradients averaged across ranks), or as it is."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier(group=self.control)

    def finish(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.destroy_process_group()


SINGLE = World()


def interleave(parts: list[torch.Tensor], count: int) -> torch.Tensor:
    """The rows of every rank's ``shard`` (part r holds items r, r + N, r + 2N...), in the items' order,
    the padding cut off."""
    whole = torch.empty((len(parts[0]) * len(parts), *parts[0].shape[1:]), dtype=parts[0].dtype)
    for rank, part in enumerate(parts):
        whole[rank::len(parts)] = part
    return whole[:count]


def launched() -> bool:
    """Started by torchrun (or anything that sets WORLD_SIZE) with more than one process?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(requested_device: str = "auto") -> World:
    """Join the processes torchrun started (its environment says who and where); NCCL between GPUs,
    gloo on CPUs. A single process gets ``SINGLE`` and starts nothing."""
    if not launched():
        return SINGLE
    import torch.distributed as dist

    from core.errors import UserError
    from core.i18n import lazy, lazy_ngettext

    rank, size, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    gpus = requested_device in ("auto", "cuda") and torch.cuda.is_available()
    if gpus:
        if local >= torch.cuda.device_count():
            raise UserError(lazy_ngettext("Process {process} of this machine has no GPU of its own ({n} GPU here).",
                                          "Process {process} of this machine has no GPU of its own ({n} GPUs here).",
                                          torch.cuda.device_count(), process=local),
                            lazy("Start at most one process per GPU: torchrun --nproc-per-node {gpus} ...",
                                 gpus=torch.cuda.device_count()))
        torch.cuda.set_device(local)
    backend = "nccl" if gpus else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    control = dist.new_group(backend="gloo") if backend != "gloo" else dist.group.WORLD
    return World(rank, size, local, backend, control)
