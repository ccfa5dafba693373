"""Checkpoints of a training run, so that an interrupted run resumes exactly where it stood.

A checkpoint is taken at a batch boundary of the train-to-target loop (training.py) and holds
everything the run needs to continue as if it had never stopped: the loop's own state (epoch, the
batches already taken from this epoch, the generator state the epoch's order was drawn from,
samples, steps, the loss meter, the next evaluation point, the curve, the timed and evaluation
seconds), every global random generator (torch CPU and CUDA, NumPy, Python's ``random``), the
workload's ``training_state()`` (model, optimiser, scheduler, its own generators, ...), and the
identity of the run (pytest_snnbench.identity) that a resume must match.

Files: ``<cache>/checkpoints/<test>-<scale>-seed<seed>-<device>.pt``, one per workload test
(parameters and run variant included). The run identity (pytest_snnbench.identity: code, configuration,
data, threads, versions, ...) is *checked*, not part of the name: a rerun with a changed option finds the old checkpoint and refuses
it with the difference, instead of quietly training from the start beside it. Written atomically
(temporary file, fsync, rename), read with ``torch.load(weights_only=True)``: only tensors, plain
containers, numbers and strings, so no pickled code ever runs.
"""
from __future__ import annotations

import json
import random
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from .atomic import write_atomically
from .identity import differences as identity_differences

FORMAT = "snnbench-checkpoint/1"


class CheckpointRefused(Exception):
    """A checkpoint exists but cannot be used (unreadable, or made by a different run); the message
    says why and how to go on. It is never loaded."""


class TrainingInterrupted(Exception):
    """Ctrl-C during training: a checkpoint was written at the next batch boundary. An Exception,
    not a KeyboardInterrupt, so that pytest-benchmark marks the unfinished timing as an error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- random generators, as tensors and plain values (weights_only) -------------------------------
def global_rng_state() -> dict[str, Any]:
    """torch (CPU and every initialised CUDA device), NumPy and Python ``random``."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # never initialise CUDA for this
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state((numpy["kind"], numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- identity: what a resume must match (pytest_snnbench.identity) -----------------------------
def checkpoint_name(test: str, scale: str, seed: int, device: str) -> str:
    """The file name of a run's checkpoint: the test (with its parameters and run variant) and what
    the command line fixes before anything runs. Not the thread counts: ``--snnbench-thread-search``
    chooses them later, and they are checked as part of the identity instead (a rerun that finds the
    checkpoint adopts its thread count rather than starting fresh beside it)."""
    name = f"{test}-{scale}-seed{seed}-{device}"
    return re.sub(r"[^A-Za-z0-9_.\-\[\]]+", "_", name)[:200] + ".pt"


def saved_identity(path: Path) -> dict[str, Any] | None:
    """The identity fields a readable checkpoint was made with, or None (no file, unreadable)."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return json.loads(saved["identity"])
    except Exception:  # noqa: BLE001 - Checkpoints.load reports an unreadable file with the reason
        return None


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """torch.save, atomically: a kill at any moment leaves the previous checkpoint or the new one,
    never a torn file under the checkpoint's name."""
    write_atomically(path, lambda out: torch.save(payload, out))


@dataclass
class Alarm:
    """When the training loop next has something to do besides training (a progress line, a checkpoint)."""

    at: float = float("inf")


@dataclass
class Checkpoints:
    """The checkpoints of one training run: when one is due, writing, reading and refusing them.

    ``every``: seconds of training between checkpoints (0: none on a timer; Ctrl-C still writes
    one). The loop reads ``due`` (a perf_counter deadline) with the clock read it makes per step;
    a first Ctrl-C sets it to the past, so the checkpoint comes at the next batch boundary.
    """

    path: Path
    every: float
    identity: dict[str, Any]
    label: str = "training"  # the run, in messages
    # Over all segments of the run (carried in the checkpoint):
    resumptions: int = 0
    interrupted_seconds: float = 0.0
    checkpoint_seconds: float = 0.0
    written: int = 0
    due: float = float("inf")  # perf_counter time of the next checkpoint
    stop_requested: bool = False
    error: str | None = None  # why checkpoints stopped being written, if they did
    # The loop's wake-up time (the earlier of this and the next progress line), read once per step;
    # Ctrl-C moves it to the past.
    alarm: "Alarm" = field(default_factory=lambda: Alarm())
    _identity_json: str = field(init=False, repr=False)
    _resumed_from: float | None = field(default=None, init=False, repr=False)  # written_at of the loaded one

    def __post_init__(self) -> None:
        # Compared after a JSON round trip, so that tuples, numbers and nested dataclasses compare as stored.
        self._identity_json = json.dumps(self.identity, sort_keys=True, default=str)
        self.identity = json.loads(self._identity_json)

    def arm(self) -> None:
        """Start the timer for the next checkpoint (at the start of the run and after each one)."""
        if not self.stop_requested:
            self.due = time.perf_counter() + self.every if self.every > 0 else float("inf")

    # -- reading ---------------------------------------------------------------------------------
    def load(self, fresh: bool = False) -> dict[str, Any] | None:
        """The run to resume, or None to start from the beginning; raises CheckpointRefused."""
        if not self.path.is_file():
            return None
        if fresh:
            self.discard()
            return None
        how = "Pass --snnbench-fresh to discard it and train from the start."
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # truncated, corrupt, or something weights_only must not unpickle
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointRefused(f"the checkpoint {self.path} cannot be read ({type(error).__name__}: "
                                    f"{first[:300]}); it is truncated, corrupt or not a checkpoint, and is "
                                    f"not loaded. {how}") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
            raise CheckpointRefused(f"the checkpoint {self.path} has format {found!r}, not {FORMAT!r}; "
                                    f"it is not loaded. {how}")
        try:
            identity = json.loads(saved["identity"])
            for key in ("loop", "rng", "workload", "written_at"):
                saved[key]
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise CheckpointRefused(f"the checkpoint {self.path} is incomplete ({error!r}); it is not loaded. "
                                    f"{how}") from None
        differences = identity_differences(identity, self.identity)
        if differences:
            listed = "\n  ".join(differences)
            raise CheckpointRefused(
                f"the checkpoint {self.path} was made by a different run, so it is not loaded:\n  {listed}\n"
                f"Rerun with what it was made with to resume it, or pass --snnbench-fresh to discard it and "
                f"train from the start.")
        counters = saved.get("counters", {})
        self.resumptions = int(counters.get("resumptions", 0)) + 1
        self.interrupted_seconds = float(counters.get("interrupted_seconds", 0.0))
        self._resumed_from = float(saved["written_at"])
        self.checkpoint_seconds = float(counters.get("checkpoint_seconds", 0.0))
        self.written = int(counters.get("written", 0))
        return saved

    def training_again(self) -> None:
        """The loop has put the resumed state back: the wall time since the checkpoint's moment (the
        work lost after it, the down time, the restart) was lost to the interruption."""
        if self._resumed_from is not None:
            self.interrupted_seconds += max(0.0, time.time() - self._resumed_from)
            self._resumed_from = None

    # -- writing ---------------------------------------------------------------------------------
    def save(self, loop: dict[str, Any], workload_state: dict[str, Any]) -> None:
        payload = {
            "format": FORMAT,
            "identity": self._identity_json,
            "written_at": time.time(),
            "counters": {"resumptions": self.resumptions, "interrupted_seconds": self.interrupted_seconds,
                         "checkpoint_seconds": self.checkpoint_seconds, "written": self.written + 1},
            "loop": loop,
            "rng": global_rng_state(),
            "workload": workload_state,
        }
        save_checkpoint(self.path, payload)
        self.written += 1

    def give_up(self, error: str) -> None:
        """Writing failed: no more checkpoints in this run (a Ctrl-C still stops it)."""
        self.error, self.every = error, 0.0
        if not self.stop_requested:
            self.due = float("inf")

    def discard(self) -> None:
        """A finished run (or --snnbench-fresh) removes the checkpoint and any torn temporary file."""
        self.path.unlink(missing_ok=True)
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)

    # -- Ctrl-C and SIGTERM ------------------------------------------------------------------------
    @contextmanager
    def first_interrupt_checkpoints(self) -> Iterator[None]:
        """While training: the first SIGINT (Ctrl-C) or SIGTERM (what SLURM sends before its kill at
        the end of a job's time, and torchrun to the ranks left when one fails) asks for a checkpoint
        at the next batch boundary (the loop then raises TrainingInterrupted); a second one acts at
        once, as it would without the benchmark."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        caught = (signal.SIGINT, signal.SIGTERM)
        previous = {number: signal.getsignal(number) for number in caught}

        def restore() -> None:
            for number in caught:
                if signal.getsignal(number) is handler:
                    before = previous[number]
                    if number == signal.SIGINT and not callable(before):
                        before = signal.default_int_handler  # a second Ctrl-C raises KeyboardInterrupt
                    signal.signal(number, before if before is not None else signal.SIG_DFL)

        def handler(signum: int, frame: Any) -> None:
            self.stop_requested = True
            self.due = self.alarm.at = float("-inf")
            # Only flags here: the loop says so and writes at the next batch boundary (pytest captures
            # this process's stderr, so a line written from here would not be seen).
            restore()

        for number in caught:
            signal.signal(number, handler)
        try:
            yield
        finally:
            restore()
