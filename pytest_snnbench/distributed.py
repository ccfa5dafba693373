"""Data-parallel runs under torchrun: the process group, sharding, and the collectives the loop uses.

Every rank runs the same pytest session (same tests, same order). A workload that trains
data-parallel (``Workload.data_parallel``) is built on every rank with the same seed, so all ranks
draw the same global batch; each trains on its own slice of it, and DistributedDataParallel sums
the gradients weighted by the slices' sizes (``weighted_allreduce``), which is the gradient of the
global batch's mean loss: the single-process optimisation, split. Evaluations and test passes split
every batch the same way and sum the counts. A workload that cannot split (Image-STDP at batch 1
is sequential by definition) runs on rank 0 alone while the others wait.

Every collective has a timeout (``--snnbench-dist-timeout``); a rank that dies closes its
connections, so the others fail at their next collective at once, and ``is_distributed_failure``
tells such errors apart for the runner's message. Waits that are long by design (rank 0 alone on a
sequential workload, or downloading data before the others read it) use a second group whose
timeout is a day.

This module imports torch; plugin.py loads it only when a distributed session starts.
"""
from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from .workload import Batch

LONG_WAIT = datetime.timedelta(days=1)


class DistributedFailure(Exception):
    """The process group cannot be set up or a rank was lost: ends the session on every rank."""


@dataclass
class World:
    """This process's place among the ranks; a single process is ``World()``."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    nodes: int = 1
    backend: str | None = None
    timeout_s: float | None = None
    batch_rule: str = "fixed"
    gradient_weight: float = 1.0  # this rank's share of the current global batch (weighted_allreduce)
    broken: str | None = None  # why the group can no longer be used, once a rank was lost
    _waiting_group: Any = field(default=None, repr=False)

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.size, "nodes": self.nodes, "backend": self.backend, "timeout_s": self.timeout_s,
                "batch_rule": self.batch_rule}

    # -- splitting ------------------------------------------------------------------------------
    def bounds(self, total: int) -> tuple[int, int]:
        """This rank's contiguous slice [begin, end) of ``total`` samples (sizes differ by 1 at most)."""
        return self.rank * total // self.size, (self.rank + 1) * total // self.size

    def training_shard(self, batch: "Batch") -> tuple["Batch", float]:
        """This rank's slice of a global batch and its weight (slice size / batch size) for the
        gradient sum. A rank whose slice is empty (a global batch smaller than the world) trains on
        the batch's first sample with weight 0: it must still take part in the gradient exchange."""
        if not self.distributed:
            return batch, 1.0
        begin, end = self.bounds(batch.size)
        if begin == end:
            return shard_batch(batch, 0, 1), 0.0
        return shard_batch(batch, begin, end), (end - begin) / batch.size

    def evaluation_shard(self, batch: "Batch") -> "Batch | None":
        """This rank's slice of an evaluation or test batch; None when it is empty."""
        if not self.distributed:
            return batch
        begin, end = self.bounds(batch.size)
        return shard_batch(batch, begin, end) if end > begin else None

    # -- collectives ------------------------------------------------------------------------------
    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over ranks (float64; exact for counts below 2**53)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(tensor)
        return tensor.cpu().tolist()

    def global_loss(self, local: float, weight: float) -> float:
        """The global batch's mean loss from each rank's mean over its slice; NaN on every rank as
        soon as any rank's loss is not finite (all ranks must stop at the same step)."""
        if not self.distributed:
            return local
        finite = math.isfinite(local)
        weighted, bad = self.sum([weight * local if finite else 0.0, 0.0 if finite else 1.0])
        return math.nan if bad else weighted

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def objects(self, value: Any) -> list[Any]:
        """``value`` from every rank, in rank order."""
        if not self.distributed:
            return [value]
        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, value)
        return gathered

    def from_main(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wait_for_main(self) -> None:
        """A barrier with a day's timeout: the other ranks wait here while rank 0 works alone."""
        if self.distributed and not self.broken:
            dist.barrier(group=self._waiting_group)

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (e.g. downloads a data set or writes a feature cache), the
        other ranks after it, so that they read what it wrote instead of racing it."""
        if not self.distributed:
            yield
            return
        if self.is_main:
            try:
                yield
            finally:
                self.wait_for_main()
        else:
            self.wait_for_main()
            yield

    def _collective_device(self) -> torch.device:
        return torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else torch.device("cpu")

    # -- gradients ------------------------------------------------------------------------------
    def data_parallel(self, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``module`` wrapped in DistributedDataParallel, its gradients summed with this rank's weight."""
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                          forward_sync_buffers=False)
        wrapped.register_comm_hook(self, weighted_allreduce)
        return wrapped


def weighted_allreduce(world: World, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """DDP communication hook: sum of each rank's gradient times its share of the global batch.

    Each rank's gradient is that of the mean loss over its slice, so the weighted sum is the
    gradient of the mean over the whole global batch, also when slices differ in size (DDP's own
    hook divides by the world size, which is right only for equal slices)."""
    buffer = bucket.buffer()
    buffer.mul_(world.gradient_weight)
    return dist.all_reduce(buffer, async_op=True).get_future().then(lambda done: done.value()[0])


# DDP checks a hook's annotations as objects; this module's are strings (postponed evaluation).
weighted_allreduce.__annotations__.update(bucket=dist.GradBucket, world=World,
                                          **{"return": torch.futures.Future[torch.Tensor]})


def shard_batch(batch: "Batch", begin: int, end: int) -> "Batch":
    """Samples [begin, end) of a batch; inputs are a tensor (samples first) or a tuple, list or
    dict of them."""
    from .workload import Batch

    return Batch(_slice(batch.inputs, begin, end), batch.targets[begin:end])


def _slice(inputs: Any, begin: int, end: int) -> Any:
    if isinstance(inputs, torch.Tensor):
        return inputs[begin:end]
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_slice(part, begin, end) for part in inputs)
    if isinstance(inputs, dict):
        return {key: _slice(part, begin, end) for key, part in inputs.items()}
    raise TypeError(f"cannot split batch inputs of type {type(inputs).__name__} across ranks: give tensors "
                    "with the samples first, or set data_parallel = False on the workload")


def is_distributed_failure(error: BaseException) -> bool:
    """An error from a collective whose peer died, hung past the timeout, or closed the group."""
    if isinstance(error, (DistributedFailure, getattr(dist, "DistError", DistributedFailure))):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(mark in text for mark in (
        "gloo", "Gloo", "NCCL", "Connection reset", "Connection closed", "Timed out waiting", "ProcessGroup"))


def failure_reason(error: BaseException) -> str:
    """The error's first sentence, without the backend's source location and advice."""
    text = (str(error).splitlines() or [type(error).__name__])[0]
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)  # "[.../gloo/transport/tcp/pair.cc:545] "
    return text.split(". ")[0].rstrip(".")


def environment_world_size() -> int:
    """WORLD_SIZE as torchrun (or a SLURM/Kubernetes launcher that starts it) sets it; 1 without."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def start(backend: str, device: str, timeout_s: float, batch_rule: str) -> tuple[World, str]:
    """Join the process group that torchrun's environment describes; returns the world and this
    rank's device (``cuda:LOCAL_RANK`` for CUDA). Raises DistributedFailure with what to fix."""
    missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise DistributedFailure(f"WORLD_SIZE={os.environ.get('WORLD_SIZE')} but {', '.join(missing)} not set: "
                                 "start the ranks with torchrun (or --snnbench-nproc=N), which sets them all.")
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
    nodes = int(os.environ.get("GROUP_WORLD_SIZE", "0")) or max(1, size // max(1, local_size))
    if device.startswith("cuda"):
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise DistributedFailure(f"local rank {local_rank} has no GPU: this node has {count} CUDA device(s); "
                                     f"start at most {count} ranks per node (--nproc-per-node={count}).")
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    chosen = backend if backend != "auto" else ("nccl" if device.startswith("cuda") else "gloo")
    if chosen == "nccl" and not device.startswith("cuda"):
        raise DistributedFailure("--snnbench-dist-backend=nccl needs --device=cuda; on the CPU use gloo.")
    timeout = datetime.timedelta(seconds=timeout_s)
    try:
        dist.init_process_group(chosen, timeout=timeout)
        waiting = dist.new_group(backend="gloo", timeout=LONG_WAIT)
    except Exception as error:  # rendezvous timeout, unreachable master, a backend torch lacks
        raise DistributedFailure(
            f"rank {rank} of {size} could not join the process group ({chosen}, "
            f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}, timeout {timeout_s:g} s): "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    world = World(rank=rank, size=size, local_rank=local_rank, nodes=nodes, backend=chosen, timeout_s=timeout_s,
                  batch_rule=batch_rule, _waiting_group=waiting)
    return world, device


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
