"""Run a workload as a benchmark: seed, build, (profile), time, record, hand over the model, judge.

This is what the ``snnbench`` fixture gives a workload test; the workload itself only says what
to compute (see workload.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import itertools
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import torch

from .baselines import Baselines, class_counts, majority_class_accuracy
from .checkpoint import CheckpointRefused, Checkpoints, TrainingInterrupted, checkpoint_name, saved_identity
from . import convergence
from .complexity import measure_inference, measure_training
from .dense_limit import dense_limit_record
from .data import DataSetError
from .determinism import seed_everything
from .device import describe
from .distributed import World, failure_reason, is_distributed_failure
from .launch import tell_user
from .metrics.energy import EnergyMeter
from .metrics.memory import PeakMemory
from .identity import RunIdentity, digest
from .models import ModelStore, code_fingerprint
from .options import SnnbenchOptions
from .profiling import profile_steps
from .progress import Progress
from .record import framework_fields, inference_record, package_versions, training_record
from .reference import judge_convergence, reference_spread
from .results import append_record, session_id
from .thread_search import search_intra_op_threads
from .threads import ThreadSettings
from .training import (DIVERGED, REACHED, InferenceOutcome, TrainingOutcome, run_inference, timed_passes_outcome,
                       train_to_target)
from .variants import RunVariant, SegmentClock
from .verdict import Interval, describe_inference_failure, inference_passes
from .workload import Batch, Workload, WorkloadContext, supports_checkpoints

# The explicit warm-up before every timed training run, the same whatever the options: a few steps
# on the untrained copy (compiles numba, fills oneDNN's and the allocator's caches) and one
# validation batch. Recorded as ``warmup``.
WARMUP_TRAIN_STEPS = 3
# Before the timed inference: this many test batches (the last batch's shape too, when it differs).
WARMUP_TEST_BATCHES = 3


class SnnbenchNotice(UserWarning):
    """Something a benchmark user should know about how a result was obtained."""


@dataclass(frozen=True)
class ResultRow:
    """One line of the end-of-session summary."""

    test: str
    workload: str
    status: str
    accuracy: float | None
    majority: float | None  # the majority class's accuracy on the same split: what accuracy must beat
    target: float
    time_to_target_s: float | None
    throughput: float | None
    note: str = ""
    # The summary's metrics (pytest_snnbench.metrics, shown_in "summary") by name.
    values: dict[str, float | None] = field(default_factory=dict, compare=False)

    @classmethod
    def from_record(cls, test: str, record: dict[str, Any], note: str = "") -> "ResultRow":
        from .metrics import REGISTRY

        variant = record.get("variant")
        values = {metric.name: metric.value(record) for metric in REGISTRY.in_table("summary")}
        return cls(
            test=test,
            workload=record["workload"] + (f"[{variant}]" if variant else ""),
            status=record["status"],
            accuracy=REGISTRY["accuracy"].value(record),
            majority=record.get("majority_class_accuracy"),
            target=record["target_accuracy"],
            time_to_target_s=REGISTRY["time_to_target"].value(record),
            throughput=REGISTRY["throughput"].value(record),
            note=", ".join(part for part in (
                f"test {record['test_accuracy']:.2%}" if record.get("test_accuracy") is not None else "",
                f"engine {record['engine']}" if record.get("engine") else "",
                f"framework {record['framework']}" if record.get("framework") else "", note) if part),
            values=values,
        )


@dataclass
class SessionState:
    """Shared by all workload tests of one pytest session."""

    options: SnnbenchOptions
    threads: ThreadSettings
    context: WorkloadContext
    models: ModelStore
    results: list[ResultRow] = field(default_factory=list)
    extra_summary: list[str] = field(default_factory=list)
    # Records by test name (parameters included), and each run with its variant, for the gate,
    # the repeatability analysis and the report.
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[tuple[str, RunVariant, dict[str, Any]]] = field(default_factory=list)
    analysis: dict[str, Any] = field(default_factory=dict)  # gate and repeatability, saved in the JSON
    session: str = field(default_factory=session_id)  # tags this session's lines in the results file
    world: World = field(default_factory=World)  # the ranks under torchrun (distributed.py); one process otherwise

    def add_result(self, item: pytest.Item, variant: RunVariant, record: dict[str, Any], note: str = "") -> None:
        """One workload run's record, for the summary table, the gate, repeatability and the report."""
        self.records[item.name] = record
        self.runs.append((_workload_test_name(item, variant), variant, record))
        self.results.append(ResultRow.from_record(item.name, record, note))
        if self.options.results_path is not None:
            try:  # at once: a session killed later keeps this record
                append_record(self.options.results_path, self.session, item.nodeid, record)
            except OSError as error:
                self.extra_summary.append(f"results file {self.options.results_path} not written for "
                                          f"{item.name}: {error}; the record is in pytest-benchmark's JSON only")


def _engine_or_framework(workload: Workload) -> str | None:
    """What tells apart runs of one workload side by side (progress lines)."""
    hyper = workload.hyperparameters()
    return hyper.get("engine") or hyper.get("framework")


def warm_up_inference(workload: Workload, batches: int) -> int:
    """Predict the first ``batches`` test batches, untimed: first-call allocations, oneDNN's
    primitives and the allocator's growth stay out of the timed pass (after one batch only, the
    first timed pass still ran 1.5x the later ones on a 2-core VM). Returns the batches predicted."""
    done = 0
    with torch.no_grad():
        workload.begin_test_pass()
        for batch in itertools.islice(workload.test_batches(), batches):
            workload.predict(batch)
            done += 1
    return done


def _workload_test_name(item: pytest.Item, variant: RunVariant) -> str:
    """The test id without the run variant's part (``test_x[400-repeat2]`` -> ``test_x[400]``), so
    that repeats and seeds of one workload are grouped together and different workloads never are."""
    base = getattr(item, "originalname", item.name)
    if not item.name.startswith(base + "["):
        return base
    own = item.name[len(base) + 1:-1]
    if variant.label:
        own = own.replace(variant.label, "", 1)
    own = "-".join(part for part in own.split("-") if part)
    return f"{base}[{own}]" if own else base


def _endless(workload: Workload) -> Iterator[Batch]:
    return itertools.chain.from_iterable(workload.train_batches(epoch) for epoch in itertools.count(1))


class WorkloadRunner:
    def __init__(self, state: SessionState, request: pytest.FixtureRequest, variant: RunVariant,
                 determinism: dict[str, Any]) -> None:
        self.state = state
        self.request = request
        self.options = state.options
        self.variant = variant
        self.context = dataclasses.replace(state.context, device=torch.device(variant.device), seed=variant.seed)
        self.device = self.context.device
        self.determinism = determinism
        if variant.intra_op is not None:
            torch.set_num_threads(variant.intra_op)  # intra-op threads can change at any time

    # -- shared steps -------------------------------------------------------------------------
    def run_settings(self) -> dict[str, Any]:
        return {
            "seed": self.variant.seed,
            "device": str(self.device),
            "device_info": describe(self.device),
            "scale": self.options.scale,
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "inter_op_threads_applied": self.state.threads.inter_op_applied,
            "determinism": self.determinism,
            "variant": self.variant.label or None,
            "world_size": self.state.world.size,
        }

    def option(self, name: str) -> Any:
        """The parsed value of an option a workload declared (hooks.py), by its dest name."""
        return self.context.option(name)

    def create(self, workload_type: type[Workload], settings: dict[str, Any] | None = None) -> Workload:
        """Lifecycle step 1, build: a fresh workload from a fresh seed, so that profiling or reruns
        never shift the RNG. ``settings`` are passed to the constructor as keyword arguments."""
        seed_everything(self.variant.seed)
        capture = self.request.config.pluginmanager.getplugin("capturemanager")
        world = self.state.world if workload_type.data_parallel else World()
        try:
            # Building loads data sets: a download shows its progress instead of being captured.
            # Rank 0 builds first: it downloads and writes the caches that the others then read.
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext(), world.main_first():
                workload = workload_type(dataclasses.replace(self.context, world=world), **(settings or {}))
        except DataSetError as error:
            message = str(error)
        else:
            if self.options.epoch_budget:  # a convergence run: every copy trains the same whole budget
                workload.train_for_epochs(self.options.epoch_budget)
            return workload
        # One clear message, no traceback from deep inside torchvision; the session stops after it.
        self.request.session.shouldstop = f"data set unavailable for {getattr(workload_type, 'name', workload_type)}"
        pytest.fail(message, pytrace=False)

    def _profile(self, workload_type: type[Workload], settings: dict[str, Any], phase: str,
                 workload: Workload | None = None) -> dict[str, Any]:
        if phase == "training":
            throwaway = self.create(workload_type, settings)  # training steps change the model: profile a copy
            return profile_steps(throwaway.train_step, _endless(throwaway), self.options.profile_warmup_steps,
                                 self.options.profile_steps, self.device, phase)
        assert workload is not None

        def predict(batch: Batch) -> torch.Tensor:
            with torch.no_grad():
                return workload.predict(batch)

        workload.begin_test_pass()
        return profile_steps(predict, itertools.cycle(list(workload.test_batches())),
                             self.options.profile_warmup_steps, self.options.profile_steps, self.device, phase)

    def _progress(self, label: str, target: float, budget: int | None, engine: str | None = None) -> Progress:
        """Progress lines through the terminal reporter: shown without -s; under -q evaluations only."""
        config = self.request.config
        if engine:  # two engines may run side by side
            label = f"{label} ({engine})"
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        label = f"{label}[{self.variant.label}]" if self.variant.label else label
        return Progress(terminal, label, target, budget, interval=self.options.progress_every,
                        quiet=(config.getoption("verbose") or 0) < 0,
                        uncaptured=capture.global_and_fixture_disabled if capture else None)

    def identity(self, workload: Workload) -> RunIdentity:
        """This run's identity (pytest_snnbench.identity): what the cache, checkpoints and the gate compare."""
        world = workload.context.world
        return RunIdentity.build(
            workload=workload.name, hyperparameters=workload.hyperparameters(), data_info=workload.data_info(),
            seed=self.variant.seed, scale=self.options.scale, device=str(self.device),
            intra_op_threads=torch.get_num_threads(), inter_op_threads=torch.get_num_interop_threads(),
            world_size=world.size, batch_rule=world.batch_rule if world.distributed else None,
            packages=package_versions(), code=code_fingerprint(inspect.getfile(type(workload))),
            framework_version=framework_fields(workload)["framework_version"],
            budget_epochs=self.options.epoch_budget)

    # Execution settings: the same model trained with other ones is still that model for inference
    # (the cache falls back to it, and says so), though not the same run.
    EXECUTION_FIELDS = ("device", "intra_op_threads", "inter_op_threads", "world_size", "batch_rule")

    def _cache_prefix(self, workload: Workload) -> str:
        return f"{workload.name}-{self.options.scale}-{self.identity(workload).without(self.EXECUTION_FIELDS).hash}-"

    def _cache_key(self, workload: Workload) -> str:
        """The model of this run identity: the model's own fields, then the execution settings'."""
        identity = self.identity(workload)
        execution = {name: identity.fields.get(name) for name in self.EXECUTION_FIELDS}
        return self._cache_prefix(workload) + digest(execution)[:8]

    def _baselines(self, workload_type: type[Workload], settings: dict[str, Any],
                   workload: Workload) -> tuple[Baselines, Workload]:
        """Majority class and learning off on the validation split (a fresh network that never
        trains), untimed; fails at once when the target does not beat them by the margin. Returns
        the untrained copy too (the warm-up runs on it)."""
        begin = time.perf_counter()
        counts = class_counts(workload.split_labels()).get("validation")
        majority = majority_class_accuracy(counts) if counts else None
        untrained = self.create(workload_type, settings)
        with torch.no_grad():
            learning_off = untrained.learning_off_accuracy()
        baselines = Baselines(majority, float(learning_off), time.perf_counter() - begin)
        problem = baselines.margin_problem(workload.target_accuracy, workload.name, workload.check_split)
        if problem:
            pytest.fail(problem, pytrace=False)
        return baselines, untrained

    def _warm_up(self, throwaway: Workload) -> dict[str, Any]:
        """The explicit warm-up (WARMUP_TRAIN_STEPS training steps and one validation batch) on a
        copy that is then dropped: the timed run starts warm whatever else the options ran before."""
        begin = time.perf_counter()
        batches = _endless(throwaway)
        for _ in range(WARMUP_TRAIN_STEPS):
            throwaway.train_step(next(batches))
        with torch.no_grad():
            # The check's own code on one batch where the workload can say so (TensorDataWorkload), else a whole check.
            one_batch = getattr(throwaway, "validation_score", None)
            one_batch(getattr(throwaway, "eval_batch_size", 1)) if one_batch else throwaway.evaluate()
        return {"train_steps": WARMUP_TRAIN_STEPS, "evaluation": "one batch" if one_batch else "one check",
                "seconds": time.perf_counter() - begin, "on": "an untrained copy of the workload"}

    def _store(self, workload: Workload, outcome: TrainingOutcome) -> None:
        """Keep the trained model for inference, also one that missed its target: inference is then
        still timed and fails on its own accuracy. A diverged model (NaN weights) is never kept."""
        if outcome.status == DIVERGED:
            return
        self.state.models.put(self._cache_key(workload), workload.state_dict(), save=self.state.world.is_main,
                              metadata={
            "workload": workload.name, "hyperparameters": workload.hyperparameters(),
            "reached_target": outcome.status == REACHED, "best_accuracy": outcome.curve.best_accuracy,
            "seed": self.variant.seed, "identity": self.identity(workload).hash})

    def _checkpoints(self, workload: Workload) -> Checkpoints | None:
        """This training run's checkpoints, or None when they are off or the workload has none."""
        folder = self.options.cache_dir / "checkpoints"
        item = self.request.node
        name = self._checkpoint_name()
        if self.state.world.distributed and self.options.checkpoint_every:
            warnings.warn(SnnbenchNotice(
                f"{workload.name}: trains without checkpoints: a run on {self.state.world.size} ranks cannot "
                "be checkpointed yet (--snnbench-checkpoint-every is for single-process runs)."), stacklevel=3)
            return None
        if not self.options.checkpoint_every:
            if (folder / name).is_file() and not self.options.fresh:
                warnings.warn(SnnbenchNotice(
                    f"{workload.name}: a checkpoint exists ({folder / name}) but checkpoints are off "
                    "(--snnbench-checkpoint-every=0, the smoke-scale default): training from the start; "
                    "the checkpoint is left alone."), stacklevel=3)
            return None
        if not supports_checkpoints(workload):
            warnings.warn(SnnbenchNotice(
                f"{workload.name}: trains without checkpoints (its workload class has no training_state, "
                "epoch_order_state and their load methods; see pytest_snnbench.workload)."), stacklevel=3)
            return None
        identity = {**self.identity(workload).fields, "test": item.nodeid}
        return Checkpoints(folder / name, self.options.checkpoint_every, identity,
                           label=f"{workload.name}-training")

    def _checkpoint_name(self) -> str:
        item = self.request.node
        return checkpoint_name(f"{Path(str(item.path)).stem}.{item.name}", self.options.scale, self.variant.seed,
                               str(self.device))

    def _resumed_thread_count(self) -> int | None:
        """With --snnbench-thread-search, a run that has a checkpoint resumes with the checkpoint's
        intra-op thread count instead of searching again (another count would be another run)."""
        if not self.options.checkpoint_every or self.options.fresh:
            return None
        saved = saved_identity(self.options.cache_dir / "checkpoints" / self._checkpoint_name())
        count = saved.get("intra_op_threads") if saved else None
        return int(count) if isinstance(count, int) else None

    # -- the ranks of a data-parallel run --------------------------------------------------------
    def _on_ranks(self, workload_type: type[Workload], run: Callable[[], Any]) -> Any:
        """Run a workload on every rank (data-parallel) or on rank 0 alone while the others wait;
        a lost rank ends the session on every rank with one message instead of a hang."""
        world = self.state.world
        if not world.distributed:
            return run()
        name = getattr(workload_type, "name", workload_type.__name__)
        try:
            if workload_type.data_parallel:
                return run()
            if world.is_main:
                try:
                    return run()
                finally:
                    world.wait_for_main()
            world.wait_for_main()
        except Exception as error:
            if not is_distributed_failure(error):
                raise
            lost = failure_reason(error)
        else:
            pytest.skip(f"{name} runs on rank 0 alone (it is not data-parallel); its record is rank 0's")
        self._lost_ranks(name, lost)

    def _lost_ranks(self, name: str, reason: str) -> None:
        world = self.state.world
        world.broken = reason
        message = (f"rank {world.rank} of {world.size} lost the other ranks during {name}: {reason}. A rank "
                   f"died, was killed, or did not answer within --snnbench-dist-timeout={world.timeout_s:g} s; "
                   "the session stops on every rank. Records finished before this are kept (rank 0's results "
                   "file and benchmark JSON).")
        self.request.session.shouldstop = "a rank was lost"
        if not world.is_main:
            tell_user(message)  # this rank's terminal output goes to its log
        pytest.fail(message, pytrace=False)

    def _same_data(self, workload: Workload) -> None:
        """Every rank must train on the same data: a rank with other files would split another set."""
        world = workload.context.world
        fingerprints = world.objects(workload.data_info().get("fingerprint"))
        if len(set(map(str, fingerprints))) > 1:
            mismatch = ", ".join(f"rank {rank}: {value}" for rank, value in enumerate(fingerprints))
            self.request.session.shouldstop = "the ranks read different data"
            pytest.fail(f"{workload.name}: the ranks read different data ({mismatch}); give every rank the "
                        "same --snnbench-data-dir contents.", pytrace=False)

    def _distributed_record(self, workload: Workload, training: bool) -> dict[str, Any] | None:
        world = workload.context.world if workload.data_parallel else self.state.world
        if not world.distributed:
            return None
        record = {**world.describe(), "ranks_used": world.size if workload.data_parallel else 1}
        if training and workload.data_parallel and hasattr(workload, "batch_size"):
            record.update(global_batch=workload.batch_size, per_rank_batch=-(-workload.batch_size // world.size),
                          learning_rate_rule="sqrt(ranks), Adam (Malladi et al. 2022)"
                          if world.batch_rule == "scale" else "none: the single-process batch and rate")
        if not workload.data_parallel:
            record["note"] = "not data-parallel: run on rank 0 alone"
        return record

    # -- the two kinds of workload --------------------------------------------------------------
    def train(self, workload_type: type[Workload], benchmark: Any, **settings: Any) -> TrainingOutcome:
        """Time training to the target accuracy; fail if it diverges or misses the target.

        ``settings`` go to the workload's constructor (e.g. ``n_neurons=400``)."""
        return self._on_ranks(workload_type, lambda: self._train(workload_type, benchmark, **settings))

    def infer(self, workload_type: type[Workload], benchmark: Any, **settings: Any) -> InferenceOutcome:
        """Time inference over the test set with the trained model; fail below the target accuracy.

        Order: build, load (or train, untimed) the trained state, ``prepare_inference`` (untimed),
        optional profile, one untimed warm-up batch, then the timed pass over the test set."""
        return self._on_ranks(workload_type, lambda: self._infer(workload_type, benchmark, **settings))

    def _train(self, workload_type: type[Workload], benchmark: Any, **settings: Any) -> TrainingOutcome:
        profile = self._profile(workload_type, settings, "training") if self.options.profile else None
        search = None
        resumed_threads = self._resumed_thread_count() if self.options.thread_search else None
        if resumed_threads is not None:
            torch.set_num_threads(resumed_threads)
            search = {"chosen": resumed_threads, "skipped": "resuming a checkpoint made with this count"}
        elif self.options.thread_search:
            throwaway = self.create(workload_type, settings)
            search = search_intra_op_threads(throwaway.train_step, _endless(throwaway), self.options.thread_search,
                                             self.device)
            del throwaway
        workload = self.create(workload_type, settings)
        self._same_data(workload)
        baselines, untrained = self._baselines(workload_type, settings, workload)
        warmup = self._warm_up(untrained)
        del untrained
        if workload.context.world.distributed:
            workload.distribute()
        progress = self._progress(f"{workload.name}-training", workload.target_accuracy, workload.sample_budget(),
                                  _engine_or_framework(workload))
        checkpoints = self._checkpoints(workload)
        resume = None
        if checkpoints is not None:
            try:
                resume = checkpoints.load(fresh=self.options.fresh)
            except CheckpointRefused as error:
                pytest.fail(f"{workload.name}: {error}", pytrace=False)
            if resume is not None:
                loop = resume["loop"]
                progress.note(f"resuming from the checkpoint {checkpoints.path.name} (resumption "
                              f"{checkpoints.resumptions}): epoch {loop['epoch']}, {loop['samples']:,} samples, "
                              f"{loop['elapsed']:.1f} s of training so far")
        marker = self.request.node.get_closest_marker("benchmark")
        timer = marker.kwargs.get("timer") if marker else None

        def timed() -> TrainingOutcome:
            began = time.perf_counter()
            result = train_to_target(workload, self.device, progress=progress, checkpoints=checkpoints,
                                     resume=resume, meter=meter, stop_at_target=self.options.epoch_budget is None)
            if isinstance(timer, SegmentClock):
                timer.report(began, result.seconds)
            return result

        # Energy counters and the memory peak are read just before and just after the timed call, outside every clock.
        meter = EnergyMeter(self.device)
        peak = PeakMemory(self.device)
        try:
            with checkpoints.first_interrupt_checkpoints() if checkpoints else contextlib.nullcontext(), meter, peak:
                outcome: TrainingOutcome = benchmark.pedantic(timed, rounds=1, iterations=1, warmup_rounds=0)
        except TrainingInterrupted as stop:
            # A clean stop: the records finished so far are in the results file already.
            pytest.exit(stop.message, returncode=pytest.ExitCode.INTERRUPTED)
        except KeyboardInterrupt:
            benchmark.has_error = True  # no timing to save: pytest-benchmark would fail on the empty one
            raise
        # The one test measurement, after the stop and outside the timing: it reports, never decides.
        test_accuracy = workload.test_accuracy() if outcome.status != DIVERGED else None
        # A resumed run measured its last segment only: recorded, but not energy to target.
        energy = meter.record(whole_run=outcome.resumptions == 0)
        record = training_record(workload, outcome, self.run_settings(), baselines, test_accuracy, energy)
        record["identity"] = self.identity(workload).as_record()
        record["peak_memory"] = peak.record()
        record["warmup"] = warmup
        record["test_interval"] = (Interval.of_score(test_accuracy).as_record()
                                   if getattr(test_accuracy, "total", None) else None)
        record["reference_convergence"] = judge_convergence(workload, record)
        record["budget"] = ({"mode": "epochs", "epochs": self.options.epoch_budget} if self.options.epoch_budget
                            else {"mode": "target"})
        record["convergence"] = convergence.summary(outcome.curve, self.options.epoch_budget)
        record["reference_spread"] = reference_spread(workload, record)
        record["distributed"] = self._distributed_record(workload, training=True)
        record["checkpoint_every_s"] = self.options.checkpoint_every if checkpoints else 0.0
        record["complexity"] = measure_training(self.create(workload_type, settings))  # untimed, a throwaway copy
        record["dense_limit"] = dense_limit_record(workload, "training", record["train_throughput_samples_per_s"])
        if checkpoints is not None and checkpoints.error:
            record["checkpoint_error"] = checkpoints.error
            warnings.warn(SnnbenchNotice(f"{workload.name}: checkpoints stopped, cannot write "
                                         f"{checkpoints.error}; the run went on without them."), stacklevel=2)
        if profile is not None:
            record["profile"] = profile
        if search is not None:
            record["thread_search"] = search
        benchmark.extra_info.update(record)
        self.state.add_result(self.request.node, self.variant, record)
        self._store(workload, outcome)
        if checkpoints is not None:
            checkpoints.discard()  # the run is finished (whatever its status) and recorded
            if checkpoints.stop_requested:  # Ctrl-C came during the run's last evaluation
                pytest.exit(f"{workload.name}-training finished just as Ctrl-C came; its record is saved. "
                            "The session stops here.", returncode=pytest.ExitCode.INTERRUPTED)
        if outcome.status == DIVERGED:
            pytest.fail(f"{workload.name} training diverged: {outcome.divergence}. The run stopped there; "
                        f"what was measured is kept in the record.\n{outcome.curve.format()}", pytrace=False)
        elif outcome.status != REACHED:
            pytest.fail(f"{workload.name} missed its target of {workload.target_accuracy:.2%} "
                        f"{workload.check_split} accuracy "
                        f"within {workload.max_epochs} epoch(s) ({outcome.samples} samples).\n"
                        f"{outcome.curve.format()}", pytrace=False)
        return outcome

    def _infer(self, workload_type: type[Workload], benchmark: Any, **settings: Any) -> InferenceOutcome:
        workload = self.create(workload_type, settings)
        self._same_data(workload)
        # Rank 0's model on every rank (another node may have no cache, or another one).
        found = workload.context.world.from_main(self.state.models.get(self._cache_key(workload),
                                                                       self._cache_prefix(workload)))
        if found is not None:
            state, source, metadata = found
            workload.load_state_dict(state)
            # A model whose metadata does not say it reached its target is not taken to have.
            reached = metadata.get("reached_target") is True
        else:
            warnings.warn(SnnbenchNotice(
                f"{workload.name}: no trained model from this run or the cache; training one first "
                "(untimed, not part of the inference result)."), stacklevel=2)
            trainer = self.create(workload_type, settings)  # its own instance: training may wrap the model
            if trainer.context.world.distributed:
                trainer.distribute()
            outcome = train_to_target(trainer, self.device, progress=self._progress(
                f"{workload.name}-training (untimed, for inference)", workload.target_accuracy,
                workload.sample_budget()), stop_at_target=self.options.epoch_budget is None)
            if outcome.status == DIVERGED:
                pytest.fail(f"{workload.name}: training the model for inference diverged: {outcome.divergence}."
                            f"\n{outcome.curve.format()}", pytrace=False)
            self._store(trainer, outcome)
            workload.load_state_dict(trainer.state_dict())
            del trainer
            source, reached = "trained-untimed", outcome.status == REACHED
        workload.prepare_inference()  # e.g. ANN-to-SNN conversion: outside the timing
        profile = self._profile(workload_type, settings, "inference", workload) if self.options.profile else None
        began = time.perf_counter()
        warm_batches = warm_up_inference(workload, WARMUP_TEST_BATCHES)
        warmup = {"train_steps": 0, "evaluation_batches": warm_batches, "seconds": time.perf_counter() - began,
                  "on": f"the trained model, {warm_batches} test batches"}
        progress = self._progress(f"{workload.name}-inference", workload.target_accuracy, None,
                                  _engine_or_framework(workload))
        passes: list[InferenceOutcome] = []

        def timed_pass() -> InferenceOutcome:
            passes.append(run_inference(workload, self.device, progress=progress))
            return passes[-1]

        meter, peak = EnergyMeter(self.device), PeakMemory(self.device)
        with meter, peak:  # counters and the memory peak read just before and after the timed passes
            benchmark.pedantic(timed_pass, rounds=self.options.inference_passes, iterations=1, warmup_rounds=0)
        outcome = timed_passes_outcome(passes)
        record = inference_record(workload, outcome, self.run_settings(), source,
                                  meter.record(samples=outcome.samples * len(passes)))
        record["inference_passes"] = [{"seconds": p.seconds, "accuracy": p.accuracy} for p in passes]
        record["peak_memory"] = peak.record()
        record["model_reached_target"] = reached
        # The median of N passes is not the time of one: runs timed differently are not the same run.
        identity = self.identity(workload)
        record["identity"] = RunIdentity({**identity.fields, "inference_passes": len(passes)}).as_record()
        record["reference_spread"] = reference_spread(workload, record)
        record["warmup"] = warmup
        record["distributed"] = self._distributed_record(workload, training=False)
        record["complexity"] = measure_inference(workload)  # untimed, after the timed pass and its record
        record["dense_limit"] = dense_limit_record(workload, "inference", outcome.throughput)  # untimed too
        if profile is not None:
            record["profile"] = profile
        benchmark.extra_info.update(record)
        self.state.add_result(self.request.node, self.variant, record,
                              note="" if source == "same-run" else source.split(":")[0])
        interval = Interval.of(outcome.correct, outcome.samples)
        if not inference_passes(interval, workload.target_accuracy):
            why = "" if reached else " Its model had not reached the target in training either."
            pytest.fail(f"{describe_inference_failure(workload.name, interval, workload.target_accuracy)}{why} "
                        "The timing is recorded.", pytrace=False)
        return outcome
