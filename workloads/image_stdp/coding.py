"""Small functional pieces of the Image-STDP workloads: Poisson input, label assignment and voting.

Training is unsupervised; labels are used only here, to give each excitatory neuron the class it
fires most for (``assign_labels``) and to classify a sample by the class whose neurons fired most
(``vote``), as Diehl & Cook (2015) do. Both are deterministic: ties go to the lowest class index,
so two runs with the same spikes give the same assignments and predictions.
"""
from __future__ import annotations

import numpy as np
import torch
from numba import njit

UNASSIGNED = -1  # a neuron that never fired in the labelling window votes for no class
ABSTAIN = -1  # a sample that made no assigned neuron fire is predicted as no class (counts as wrong)


def poisson_spike_trains(rates: torch.Tensor, time: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Spike trains [time, *rates.shape] (bool) with the distribution of ``bindsnet.encoding.poisson`` (dt 1 ms).

    BindsNET draws, for every input and every one of ``time + 1`` slots, an inter-spike interval
    from Poisson(1000 / rate) (a zero interval counts as 1) and puts a spike at each running sum
    that falls in [1, time]. Drawing all ``time + 1`` intervals wastes most of the draws: with
    MNIST's rates (at most 128 Hz, mean interval >= 7.8 steps) a few dozen intervals pass the end.
    Here each input draws intervals only until its running sum passes ``time``, in compiled code,
    which gives exactly the same distribution of spike trains at a fraction of the cost. Zero rates
    never spike. The stream is seeded from ``generator`` (one draw per call), so the trains are
    reproducible without touching the global RNG.
    """
    if (rates < 0).any():
        raise ValueError("Poisson rates must be non-negative")
    flat = rates.detach().reshape(-1).cpu().double().numpy()
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    spikes = np.zeros((time, flat.size), dtype=np.bool_)
    _poisson_trains(flat, time, seed, spikes)
    return torch.from_numpy(spikes).view(time, *rates.shape).to(rates.device)


@njit(cache=True)
def _poisson_trains(rates, time, seed, spikes):
    np.random.seed(seed)
    for i in range(rates.size):
        if rates[i] <= 0.0:
            continue
        mean_interval = 1000.0 / rates[i]
        elapsed = 0
        while True:
            elapsed += max(1, np.random.poisson(mean_interval))  # BindsNET turns zero intervals into 1
            if elapsed > time:
                break
            spikes[elapsed - 1, i] = True


def assign_labels(counts: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class per neuron: the one with the highest mean spike count per sample of that class.

    ``counts`` [samples, neurons] are spike counts, ``labels`` [samples]. Averaging per class
    (not summing) keeps frequent classes from winning by numbers alone, as in Diehl & Cook.
    Ties go to the lowest class; neurons that never fired are ``UNASSIGNED``.
    """
    counts = counts.float()
    per_class = torch.zeros(n_classes, counts.shape[1], device=counts.device)
    per_class.index_add_(0, labels.long(), counts)
    seen = torch.bincount(labels.long(), minlength=n_classes).clamp(min=1).to(counts.device)
    rates = per_class / seen.unsqueeze(1)  # [classes, neurons]
    assignments = rates.argmax(0)  # argmax returns the first maximum: the lowest class wins ties
    assignments[rates.sum(0) == 0] = UNASSIGNED
    return assignments


def class_scores(counts: torch.Tensor, assignments: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean spike count of each class's assigned neurons, [samples, classes] (0 for a class with none)."""
    counts = counts.float()
    assigned = assignments >= 0
    one_hot = torch.zeros(counts.shape[1], n_classes, device=counts.device)
    one_hot[assigned.nonzero().squeeze(1), assignments[assigned]] = 1.0
    neurons_per_class = one_hot.sum(0).clamp(min=1)
    return (counts @ one_hot) / neurons_per_class


def vote(counts: torch.Tensor, assignments: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Predicted class per sample ("all activity"): the class whose assigned neurons fired most on average.

    Ties go to the lowest class index; a sample that made no assigned neuron fire is ``ABSTAIN``
    rather than a free guess of class 0.
    """
    scores = class_scores(counts, assignments, n_classes)
    predictions = scores.argmax(1)
    predictions[scores.sum(1) == 0] = ABSTAIN
    return predictions


class SpikeWindow:
    """The spike counts and labels of the most recent training samples (a ring buffer)."""

    def __init__(self, size: int, n_neurons: int, device: torch.device) -> None:
        self.counts = torch.zeros(size, n_neurons, device=device)
        self.labels = torch.zeros(size, dtype=torch.long, device=device)
        self.size = size
        self.filled = 0
        self.position = 0

    def add(self, counts: torch.Tensor, labels: torch.Tensor) -> None:
        for start in range(0, counts.shape[0], self.size):  # a batch larger than the window keeps its end
            part, part_labels = counts[start:start + self.size], labels[start:start + self.size]
            index = (self.position + torch.arange(part.shape[0], device=self.counts.device)) % self.size
            self.counts[index] = part.float()
            self.labels[index] = part_labels
            self.position = int((self.position + part.shape[0]) % self.size)
            self.filled = min(self.size, self.filled + part.shape[0])

    def contents(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.filled < self.size:
            return self.counts[:self.filled], self.labels[:self.filled]
        return self.counts, self.labels
