"""The framework axis's option, shared by the workloads that offer it (Image-Backprop, the speech
workloads); each says in its own frameworks.py which libraries implement it. Imports nothing heavy."""
from __future__ import annotations

from typing import Any, Callable

import pytest

# Every framework some workload implements ("paper": each workload's own, the paper's).
FRAMEWORKS = ("paper", "snntorch", "torch", "norse", "sinabs", "spikingjelly", "rockpool")
COMPILED = "+compile"
ENGINES = ("framework", "event")  # the framework's own code, or our event engine computing the same network


def engine_names(text: str) -> tuple[str, ...]:
    """``--snnbench-*-engine`` values (framework, event) in the order given, each once."""
    engines: list[str] = []
    for part in str(text).split(","):
        engine = part.strip().lower()
        if engine not in ENGINES:
            raise ValueError(f"{part.strip()!r} is unknown; use framework (the framework's own code), event "
                             "(the event engine, CPU only) or both, e.g. framework,event.")
        if engine not in engines:
            engines.append(engine)
    return tuple(engines)


def event_engine_needs_the_cpu(option: str) -> Callable[[dict, Any], None]:
    """An option check: ``--<option>=event`` with a CUDA device is refused, saying what to use instead."""
    dest = option.replace("-", "_")

    def check(values: dict, core: Any) -> None:
        devices = (core.device,) + tuple(core.device_sweep) if core is not None else ()
        if "event" in values.get(dest, ()) and any(str(d).startswith("cuda") for d in devices):
            raise ValueError(f"--{option}=event runs on the CPU only; with --device=cuda use "
                             f"--{option}=framework (the default).")

    return check


def framework_names(text: str) -> tuple[str, ...]:
    """Framework names in the order given, each once; each may end in +compile (torch.compile)."""
    names: list[str] = []
    for part in str(text).split(","):
        name = part.strip().lower()
        base = name[: -len(COMPILED)] if name.endswith(COMPILED) else name
        if base not in FRAMEWORKS:
            raise ValueError(f"{part.strip()!r} is unknown; use {', '.join(FRAMEWORKS)} (paper: each workload's "
                             "own framework), each optionally with +compile, e.g. snntorch,sinabs,torch+compile.")
        if name not in names:
            names.append(name)
    return tuple(names)


@pytest.hookimpl
def pytest_snnbench_add_options(options) -> None:
    options.add("--snnbench-framework", default="paper", parse=framework_names, metavar="NAME[,NAME...]",
                help="Framework of the supervised workloads: paper (default: each workload's own, the paper's: "
                     "snnTorch for Image-Backprop, Norse for Speech-LIF and Speech-LSNN, torch for the LSTM), "
                     "snntorch, norse, torch (our plain-torch neuron), sinabs, spikingjelly or rockpool, each optionally "
                     "NAME+compile (torch.compile). Several run side by side; a workload not implemented in "
                     "one is skipped with the reason. docs/frameworks.md says which are proven equal to the "
                     "paper's. Optional libraries: pip install 'pytest-snnbench[all-frameworks]'.")
