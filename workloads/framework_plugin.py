"""The framework axis's option, shared by the workloads that offer it (Image-Backprop, the speech
workloads); each says in its own frameworks.py which libraries implement it. Imports nothing heavy."""
from __future__ import annotations

import pytest

# Every framework some workload implements ("paper": each workload's own, the paper's).
FRAMEWORKS = ("paper", "snntorch", "torch", "norse", "sinabs", "spikingjelly", "rockpool")
COMPILED = "+compile"


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
