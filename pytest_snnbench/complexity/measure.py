"""The complexity passes the runner calls: untimed, after the timed pass, on a fixed subset.

Inference: the first ``inference_samples`` test samples (in the test split's fixed order) through
``predict`` under the counters. Training: the first ``training_samples`` samples of epoch 1 (whole
batches) through ``train_step`` of a throwaway instance (training steps change the model), forward
counted; the backward pass as the dense products of gradients, two per forward product.

What is counted is the workload's ``complexity_model()`` when it defines one (a BindsNET network, a
torch module, modules by name, or a context manager giving one of them), else its ``trained_modules()``.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import torch
from torch import nn

from ..distributed import shard_batch
from . import probe
from .tally import Tally

INFERENCE_SAMPLES = {"full": 1000, "smoke": 256}
TRAINING_SAMPLES = {"full": 256, "smoke": 128}
DEFINITIONS = "NeuroBench 2.3.0 definitions, counted by pytest_snnbench.complexity (docs/complexity.md)"


def _is_bindsnet(model: Any) -> bool:
    try:
        from bindsnet.network import Network
    except ImportError:  # pragma: no cover - a dependency
        return False
    return isinstance(model, Network)


class _Counting:
    """The counters for one model, active inside ``with``."""

    def __init__(self, model: Any, tally: Tally) -> None:
        self.tally = tally
        self.bindsnet = _is_bindsnet(model)
        self._stack = contextlib.ExitStack()
        if self.bindsnet:
            from .bindsnet_counter import BindsNETCounter, static_metrics
            self.static = static_metrics(model)
            counter = BindsNETCounter(tally, model)
            self._stack.callback(counter.close)
            self.new_batch = counter.new_batch
            self.counter = counter
            return
        from .torch_counter import NeuronObserver, SynapseCounter, parameters_of, static_metrics
        modules = {"model": model} if isinstance(model, nn.Module) else dict(model)
        self.static = static_metrics(modules)
        observer = NeuronObserver(tally, modules)
        self._stack.callback(observer.close)
        synapses = SynapseCounter(tally, parameters_of(modules))
        self._synapses, self._observer = synapses, observer
        self._stack.enter_context(synapses)
        probe.listen(observer)
        self._stack.callback(probe.listen, None)

    def new_batch(self) -> None:
        self._observer.new_batch()
        self._synapses.clear_derived()

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def _counted(workload: Any, tally: Tally) -> Iterator[_Counting]:
    with contextlib.ExitStack() as stack:
        chooser = getattr(workload, "complexity_model", None)
        model = chooser() if chooser is not None else workload.trained_modules()
        if hasattr(model, "__enter__") and not isinstance(model, nn.Module):
            model = stack.enter_context(model)
        counting = _Counting(model, tally)
        stack.callback(counting.close)
        yield counting


def _unavailable(error: BaseException) -> dict[str, Any]:
    return {"available": False, "reason": f"{type(error).__name__}: {error}"}


def _limit(workload: Any, name: str, table: dict[str, int]) -> int:
    own = getattr(workload, name, None)
    scale = getattr(getattr(workload, "context", None), "scale", "full")
    if isinstance(own, dict):
        return own.get(scale, own.get("full"))
    return own or table.get(scale, table["full"])


def measure_inference(workload: Any, samples: int | None = None) -> dict[str, Any]:
    """The inference record's ``complexity``: static metrics, and per test sample the synaptic
    operations, activation sparsity, membrane updates and neuron operations. Never raises: a model
    that cannot be counted gets ``available: false`` and the reason."""
    began = time.perf_counter()
    cap = samples or _limit(workload, "complexity_samples", INFERENCE_SAMPLES)
    tally = Tally()
    try:
        with _counted(workload, tally) as counting, torch.no_grad():
            workload.begin_test_pass()
            for batch in workload.test_batches():
                batch = shard_batch(batch, 0, min(batch.size, cap - tally.samples))
                counting.new_batch()
                workload.predict(batch)
                tally.samples += batch.size
                if tally.samples >= cap:
                    break
            static = counting.static
    except Exception as error:  # noqa: BLE001 - counting must never break a benchmark
        return _unavailable(error)
    return {"available": True, **static, **tally.as_record(), "samples": tally.samples, "split": "test",
            "seconds": time.perf_counter() - began, "definitions": DEFINITIONS}


def measure_training(workload: Any, samples: int | None = None) -> dict[str, Any]:
    """The training record's ``complexity``: per training sample, the forward pass's counts (as in
    inference, with learning on) and the backward pass's dense gradient products, from the first
    training batches of ``workload``, a throwaway instance (its model changes)."""
    began = time.perf_counter()
    cap = samples or _limit(workload, "complexity_training_samples", TRAINING_SAMPLES)
    tally = Tally()
    try:
        with _counted(workload, tally) as counting:
            for batch in workload.train_batches(1):
                counting.new_batch()
                workload.train_step(batch)
                tally.samples += batch.size
                if tally.samples >= cap:
                    break
            static, spiking_rule = counting.static, counting.bindsnet
    except Exception as error:  # noqa: BLE001 - counting must never break a benchmark
        return _unavailable(error)
    forward = tally.as_record()
    dense = forward["synaptic_operations"]["dense"]
    backward = ({"dense_macs": None, "note": "no backward pass: local learning rule (STDP)"} if spiking_rule else
                {"dense_macs": None if dense is None else 2 * dense,
                 "note": "gradients of each layer's input and weights: two dense products the size of the "
                         "forward's, per forward synaptic operation (surrogate and neuron derivatives left out)"})
    return {"available": True, **static, **forward, "backward": backward, "samples": tally.samples,
            "split": "train", "seconds": time.perf_counter() - began, "definitions": DEFINITIONS}
