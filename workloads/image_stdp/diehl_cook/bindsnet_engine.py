"""The reference engine: BindsNET 0.3.4's own ``DiehlAndCook2015``, stepped by ``Network.run``.

One change of source, none of mathematics: the one-spike rule's choice comes from the shared
``ChoiceStream`` instead of the global torch generator. The uniform choice among the neurons that
crossed together is BindsNET's; it is made at the same point of the step (after the thresholds
grew, before the traces), by a class placed between ``DiehlAndCookNodes`` and ``Nodes``.

One change of behaviour: ``Network.run`` renormalises every connection after each run, learning on
or off; here a run with learning off skips that, so that validation checks leave the trained
weights bit for bit (and the spacing of checks cannot change the training trajectory).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from bindsnet.models import DiehlAndCook2015
from bindsnet.network.monitors import AbstractMonitor
from bindsnet.network.nodes import DiehlAndCookNodes, Nodes

from . import Parameters, RunOutput
from .choice import ChoiceStream, choice_index


class _SharedChoice(Nodes):
    """Keeps one spike per sample where several neurons crossed, chosen by the shared stream."""

    choices: ChoiceStream | None = None
    run_number: int = 0
    step: int = 0
    choices_made: int = 0  # how often several neurons crossed together (tests check the rule ran)

    def forward(self, x: torch.Tensor) -> None:
        spikes = self.s.view(self.s.shape[0], -1)
        crowded = (spikes.sum(1) >= 2).nonzero().flatten().tolist()
        self.choices_made += len(crowded)
        for sample in crowded:  # rare: Python is fine here
            crossed = spikes[sample].nonzero().flatten()
            keep = crossed[choice_index(self.choices.key, self.run_number, sample, self.step, len(crossed))]
            spikes[sample].zero_()
            spikes[sample, keep] = True
        self.step += 1
        super().forward(x)  # Nodes.forward: the spike traces


class SharedChoiceNodes(DiehlAndCookNodes, _SharedChoice):
    """``DiehlAndCookNodes`` whose ``super().forward`` reaches ``_SharedChoice`` before ``Nodes``."""


class _SpikeRecorder(AbstractMonitor):
    """Per-run spike counts of a layer, and optionally its spike trains (cheap: no [time, ...] buffer
    unless asked for)."""

    def __init__(self, layer: Nodes) -> None:
        super().__init__()
        self.layer = layer
        self.counts: torch.Tensor | None = None
        self.trains: list[torch.Tensor] | None = None

    def record(self) -> None:
        spikes = self.layer.s.view(self.layer.s.shape[0], -1)
        if self.counts is None or self.counts.shape != spikes.shape:
            self.counts = torch.zeros(spikes.shape, device=spikes.device)
        self.counts += spikes
        if self.trains is not None:
            self.trains.append(spikes.clone())

    def reset_state_variables(self) -> None:
        self.counts = None


class BindsNETEngine:
    name = "bindsnet"

    def __init__(self, parameters: Parameters, device: torch.device, weights: torch.Tensor) -> None:
        self.parameters = parameters
        self.device = device
        p = parameters
        self.network = DiehlAndCook2015(
            n_inpt=p.n_inputs, n_neurons=p.n_neurons, exc=p.exc, inh=p.inh, dt=p.dt,
            nu=(p.nu_pre, p.nu_post), norm=p.norm, theta_plus=p.theta_plus,
            tc_theta_decay=p.tc_theta_decay, wmin=p.wmin, wmax=p.wmax, inpt_shape=(1, 28, 28),
            device=str(device)).to(device)
        self.excitatory = self.network.layers["Ae"]
        self.excitatory.__class__ = SharedChoiceNodes
        self.excitatory.one_spike = False  # its own torch.multinomial choice is replaced, not doubled
        self._connection = self.network.connections[("X", "Ae")]
        self._weight = self._connection.pipeline[0]
        self.recorder = _SpikeRecorder(self.excitatory)
        self.network.add_monitor(self.recorder, name="Ae_spikes")
        self.load(weights, torch.zeros(p.n_neurons))

    @property
    def weights(self) -> torch.Tensor:
        return self._weight.value.detach()

    @property
    def theta(self) -> torch.Tensor:
        return self.excitatory.theta

    def load(self, weights: torch.Tensor, theta: torch.Tensor) -> None:
        with torch.no_grad():
            self._weight.value.copy_(weights.to(self.device))
            self.excitatory.theta.copy_(theta.to(self.device))
        self._connection._fold_cache = None  # weights changed behind its back

    def run(self, spikes: torch.Tensor, learning: bool, choices: ChoiceStream,
            record: bool = False) -> RunOutput:
        time, batch = spikes.shape[:2]
        self.excitatory.choices = choices
        self.excitatory.run_number = choices.next_run()
        self.excitatory.step = 0
        self.recorder.trains = [] if record else None
        self.network.train(learning)
        # BindsNET's Input layer zeroes its last input slice on reset: give it a copy.
        inputs = spikes.to(self.device).reshape(time, batch, 1, 28, 28).clone()
        with self._normalisation(learning):
            self.network.run(inputs={"X": inputs}, time=time)
        counts = self.recorder.counts
        trains = torch.stack(self.recorder.trains) if record else None
        self.network.reset_state_variables()  # every sample starts from rest (weights and thresholds stay)
        return RunOutput(counts, trains)

    @contextlib.contextmanager
    def _normalisation(self, on: bool) -> Iterator[None]:
        """``Network.run``'s renormalisation at the end of the run, or none: every feature's ``norm``
        is None for the run (``AbstractFeature.normalize`` then does nothing) and restored after."""
        if on:
            yield
            return
        features = [feature for connection in self.network.connections.values()
                    for feature in getattr(connection, "pipeline", ()) if getattr(feature, "norm", None) is not None]
        norms = [feature.norm for feature in features]
        try:
            for feature in features:
                feature.norm = None
            yield
        finally:
            for feature, norm in zip(features, norms):
                feature.norm = norm
