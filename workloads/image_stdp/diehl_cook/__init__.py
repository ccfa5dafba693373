"""The Diehl & Cook (2015) network of the Image-STDP workloads, behind two interchangeable engines.

``bindsnet`` runs ``bindsnet.models.DiehlAndCook2015`` itself: the framework the paper measured,
the reference. ``fast`` computes the same mathematics event by event in compiled loops (numba),
without Python in the time-step loop (MLPerf's closed division: same model, any code). Both take
the same Poisson trains and the same initial weights, draw the one-spike choice from the same
explicit stream (``choice``), and are proven equal by tests: same spikes, same thresholds, same
weights to float tolerance.

Use ``make_engine``; every engine offers ``run``, ``weights``, ``theta`` and ``load``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import torch

from .choice import ChoiceStream

ENGINES = ("fast", "bindsnet")


@dataclass(frozen=True)
class Parameters:
    """Everything the network computes with. The workload sets the first block; the rest are the
    constants ``DiehlAndCook2015`` builds its layers with (a test checks them against BindsNET)."""

    n_neurons: int = 100
    n_inputs: int = 784
    dt: float = 1.0
    exc: float = 22.5  # excitatory -> inhibitory, one-to-one
    inh: float = 120.0  # inhibitory -> every other excitatory neuron (negative)
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    norm: float = 78.4  # each neuron's input weights sum to this after every run
    theta_plus: float = 0.05
    tc_theta_decay: float = 1e7
    wmin: float = 0.0
    wmax: float = 1.0
    # excitatory layer (DiehlAndCookNodes)
    exc_rest: float = -65.0
    exc_reset: float = -60.0
    exc_thresh: float = -52.0
    exc_refrac: int = 5
    exc_tc_decay: float = 100.0
    tc_trace: float = 20.0  # input and excitatory spike traces
    # inhibitory layer (LIFNodes)
    inh_rest: float = -60.0
    inh_reset: float = -45.0
    inh_thresh: float = -40.0
    inh_refrac: int = 2
    inh_tc_decay: float = 10.0


class RunOutput(NamedTuple):
    counts: torch.Tensor  # [batch, neurons] excitatory spike counts of the run
    spikes: torch.Tensor | None  # [time, batch, neurons] excitatory spikes, when recorded


class Engine(Protocol):
    name: str
    parameters: Parameters

    @property
    def weights(self) -> torch.Tensor: ...  # [inputs, neurons], input -> excitatory

    @property
    def theta(self) -> torch.Tensor: ...  # [neurons], adaptive threshold increments

    def run(self, spikes: torch.Tensor, learning: bool, choices: ChoiceStream,
            record: bool = False) -> RunOutput:
        """Simulate input spikes [time, batch, inputs] (bool) from rest; then reset the neuron state
        (weights and thresholds stay) and, after a learning run, renormalise the weights as
        ``Network.run`` does. A run with learning off leaves weights and thresholds bit for bit
        (``Network.run`` would renormalise them too: the reference engine turns that off)."""

    def load(self, weights: torch.Tensor, theta: torch.Tensor) -> None: ...


def initial_weights(parameters: Parameters, generator: torch.Generator) -> torch.Tensor:
    """BindsNET's initialisation, ``0.3 * U[0, 1)``, drawn from an explicit generator."""
    return 0.3 * torch.rand(parameters.n_inputs, parameters.n_neurons, generator=generator)


def make_engine(name: str, parameters: Parameters, device: torch.device,
                weights: torch.Tensor) -> Engine:
    """The engine ``name`` ("fast" or "bindsnet"), starting from ``weights`` and zero thresholds."""
    if name == "fast":
        if torch.device(device).type != "cpu":
            raise ValueError(f"the fast Diehl & Cook engine runs on the CPU only, not on {device}; "
                             "use --snnbench-stdp-engine=bindsnet (BindsNET's own torch code) on a GPU")
        from .fast_engine import FastEngine
        return FastEngine(parameters, weights)
    if name == "bindsnet":
        from .bindsnet_engine import BindsNETEngine
        return BindsNETEngine(parameters, torch.device(device), weights)
    raise ValueError(f"unknown Diehl & Cook engine {name!r}: choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "ChoiceStream", "Engine", "Parameters", "RunOutput", "initial_weights", "make_engine"]
