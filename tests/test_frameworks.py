"""The framework axis's shared part (pytest_snnbench/frameworks.py), apart from any workload."""
from __future__ import annotations

import types

import torch

from pytest_snnbench.frameworks import Framework, RunsOnFramework


def framework(compiled: bool) -> Framework:
    module = types.SimpleNamespace(LIBRARY="torch", EQUAL=True, MAPPING="")
    return Framework(name="torch+compile" if compiled else "torch", base="torch", compiled=compiled, module=module,
                     is_paper=False)


class Workload(RunsOnFramework):
    def __init__(self, compiled: bool) -> None:
        self.framework = framework(compiled)
        self.model = torch.nn.Linear(2, 2)


def test_a_compiled_network_runs_the_model_that_replaced_it() -> None:
    """distribute() puts the data-parallel wrapper where the model was; the compiled network must run
    the wrapper (else the ranks' gradients are never combined)."""
    workload = Workload(compiled=True)
    first = workload.network
    assert first._orig_mod is workload.model and workload.network is first  # made once
    wrapper = torch.nn.Sequential(workload.model)  # stands in for DistributedDataParallel(model)
    workload.model = wrapper
    assert workload.network._orig_mod is wrapper


def test_the_network_is_no_attribute_that_distribute_would_replace() -> None:
    """distribute() replaces every attribute holding a trained module; the network's record of the
    model it was made for must not be one of them (it would then never be made again)."""
    for compiled in (False, True):
        workload = Workload(compiled)
        assert workload.network is not None
        holders = [name for name, value in vars(workload).items() if value is workload.model]
        assert holders == ["model"]
    plain = Workload(compiled=False)
    assert plain.network is plain.model
